// One rank's share of a checkpoint file, written with plain POSIX I/O: the data of every
// tensor dataset lies contiguously in the file (layout: runtime/checkpoint/layout.h), and
// rank r's rows [n·r/W, n·(r+1)/W) are one contiguous byte range of it, so each rank
// writes its ranges with large pwrite calls, hashes them on the way and fdatasyncs — no
// MPI, no HDF5, no collective two-phase I/O (which reached a third of the disk's speed).
//
// write_shard touches nothing but the file and the pieces' memory: it may run on a
// background thread (runtime/checkpoint/async_save.h) while the main thread trains and
// calls MPI; it needs no MPI thread level of its own. It never throws: a failure (a full
// disk, EIO, a non-finite tensor, an injected test fault) is returned as one line naming
// the file and the tensor, and agreed by the collective finish (runtime/checkpoint/writer.h).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sprout::runtime {

// One tensor's share on this rank: `rows` is a contiguous CPU tensor holding exactly the
// bytes to write (this rank's rows; empty when it owns none), `offset` the file offset of
// its first byte (set once the layout exists).
struct ShardPiece {
  std::string name;  // dataset path, e.g. /model/fc1/weight
  torch::Tensor rows;
  int64_t offset = -1;
  int64_t bytes() const { return rows.defined() ? rows.numel() * rows.element_size() : 0; }
};

struct ShardWritePlan {
  std::string path;  // the (temporary) file; created by the layout, written in place
  std::vector<ShardPiece> pieces;
  int64_t step = -1;  // for test fault injection (place checkpoint-write)
  int rank = 0;
  bool background = false;  // on a thread beside training: lower the thread's priority
};

struct ShardResult {
  std::vector<uint32_t> crc32;  // per piece, CRC-32 of its bytes
  int64_t bytes = 0;            // written by this rank
  double seconds = 0;           // hashing, writing and fdatasync
  std::string error;            // "" on success
};

// Writes every piece at its offset, hashes it, checks floating pieces are finite, and
// fdatasyncs the file. Local; never throws. With plan.background the calling thread's
// priority is lowered (nice 10) for good: call it on a thread of its own.
ShardResult write_shard(const ShardWritePlan& plan);

}  // namespace sprout::runtime
