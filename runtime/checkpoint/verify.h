// Whether a file is a usable checkpoint, checked by one process (serial HDF5, no
// collectives): the file-level checks of the collective reader (runtime/checkpoint/reader.h)
// — a regular file, readable HDF5, a sprout checkpoint of a supported format_version, every
// tensor readable and matching its crc32. Pruning counts only files that pass toward
// checkpoint.keep (runtime/checkpoint/store.h). Reads one tensor at a time.
#pragma once

#include <string>

namespace sprout::runtime {

// "" if `path` passes, else the first problem, naming the file (and the tensor).
std::string checkpoint_file_problem(const std::string& path);

}  // namespace sprout::runtime
