// Reads one checkpoint file collectively with parallel HDF5 (contract: runtime/checkpoint/checkpoint.h).
//
// Order of operations, identical on every rank: check that the file exists (agreed),
// open it, validate the root attributes (format, format_version), list every object in
// name order, read every group's attributes, then for each dataset (name order): tables
// are read whole by every rank; tensors are read in row shards — rank r reads rows
// [n·r/W, n·(r+1)/W) in one collective transfer, hashes them, the pieces' CRCs are
// combined and compared with the stored crc32, and the shards are allgathered so every
// rank returns the full tensor. W is the reader's world size, independent of the writer's.
//
// Rejections (CheckpointError, the same on every rank, naming the file and the tensor):
// missing file; not HDF5 / truncated / corrupt metadata (HDF5's own checksums); no
// format attribute (a foreign HDF5 file); a format_version newer than this sprout reads;
// a tensor without crc32, of an unsupported type, unreadable, or whose bytes do not
// match its checksum.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/comm/communicator.h"

namespace sprout::runtime {

struct ReadOptions {
  // true: the first bad tensor throws. false: every tensor is read and a bad one has its
  // `error` set (sprout inspect); structural errors still throw.
  bool stop_at_first_error = true;
};

struct ReadStats {
  int64_t tensors = 0;
  int64_t bytes = 0;
  int64_t transfers = 0;
  int64_t independent = 0;  // transfers HDF5 did not do collectively (want 0)
  uint32_t no_collective_cause = 0;
  double seconds = 0;
};

// Collective.
CheckpointContent read_checkpoint_file(Communicator& comm, const std::string& path, const ReadOptions& options = {},
                                       ReadStats* stats = nullptr);

}  // namespace sprout::runtime
