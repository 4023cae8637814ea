// Reading a file sprout was pointed at, without blocking and without unbounded memory.
//
// A FIFO blocks open() until a writer appears, /dev/zero never ends and a directory reads
// as nothing: every file sprout reads (config files, the `latest` pointer, checkpoints,
// data files) must be a regular file, symlinks followed. There is no exception: /dev/stdin
// and other special files are refused. Reads are capped by what the file is (a config
// file: kConfigFileMaxBytes); checkpoints are checked here before HDF5 opens them.
// (data/idx.cpp applies the same rule to data files: the data layer stands alone.)
#pragma once

#include <cstdint>
#include <string>

namespace sprout::runtime {

constexpr int64_t kConfigFileMaxBytes = int64_t{1} << 20;

// "" if `path` is a regular file, else why not: "does not exist", "is a directory",
// "is a FIFO", "is a device", "is a socket" (with the system's reason where stat fails).
std::string why_not_regular_file(const std::string& path);

// The whole content of the regular file `path`, at most `max_bytes` long. Never blocks on
// a FIFO (it is refused before it is opened for reading). Throws ConfigError
// "<what>: '<path>' <problem>".
std::string read_regular_file(const std::string& path, int64_t max_bytes, const std::string& what);

}  // namespace sprout::runtime
