// Writes one checkpoint file (contract: runtime/checkpoint/checkpoint.h) in three phases,
// so that the middle one — nearly all of the bytes — can run on a background thread:
//
//   prepare_checkpoint_file  collective, main thread: rank 0 creates the file's HDF5
//                            structure with serial HDF5 (runtime/checkpoint/layout.h) and
//                            broadcasts where each tensor's data lies (or its error);
//   write_shard              local, any thread: each rank writes its rows with POSIX I/O
//                            at those offsets, hashing them, then fdatasync
//                            (runtime/checkpoint/shard_writer.h);
//   finish_checkpoint_file   collective, main thread: the ranks agree on the outcome (the
//                            lowest failing rank's message wins), combine the checksums
//                            (allgather) and rank 0 writes them into the crc32 attributes.
//
// write_checkpoint_file runs the three in a row. Any failure throws the same
// CheckpointError on every rank and rank 0 removes the file (a full disk gives its space
// back); nothing waits on a rank that failed, because the only collectives are the
// agreements themselves. A tensor holding Inf or NaN is refused (every written model is
// finite), naming it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/shard_writer.h"
#include "runtime/comm/communicator.h"

namespace sprout::runtime {

struct WriteStats {
  int64_t tensors = 0;
  int64_t bytes = 0;            // tensor bytes written by all ranks together
  double layout_seconds = 0;    // rank 0 creating the structure (prepare)
  double write_seconds = 0;     // the slowest rank's write_shard
  double seconds = 0;           // prepare + write + finish as seen by this rank (sync)
  double mb_per_s() const { return write_seconds > 0 ? bytes / 1e6 / write_seconds : 0; }
};

// This rank's share of `content` as views of its tensors (no copy): rows
// [n·rank/world, n·(rank+1)/world) of each, in path order; a 0-d tensor belongs to rank 0.
std::vector<ShardPiece> shard_views(const CheckpointContent& content, int rank, int world);

struct PreparedFile {
  std::string path;
  ShardWritePlan plan;                  // this rank's pieces with their offsets
  std::vector<std::string> names;  // tensor paths, the pieces' order
  int64_t bytes = 0;               // all tensors' bytes
  double layout_seconds = 0;
};

// Collective. `pieces`: this rank's share (shard_views, or copies of it), in path order.
PreparedFile prepare_checkpoint_file(Communicator& comm, const std::string& path, const CheckpointContent& content,
                                     std::vector<ShardPiece> pieces, int64_t step = -1);
// Collective.
WriteStats finish_checkpoint_file(Communicator& comm, const PreparedFile& file, const ShardResult& mine);

// All three phases, the data written from `content`'s own tensors. Collective.
WriteStats write_checkpoint_file(Communicator& comm, const std::string& path, const CheckpointContent& content);

}  // namespace sprout::runtime
