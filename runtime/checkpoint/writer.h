// Writes one checkpoint file collectively with parallel HDF5 (contract: runtime/checkpoint/checkpoint.h).
//
// Order of operations, identical on every rank: create the file (truncating), write the
// root attributes, create every group with its attributes (sorted by path), then for each
// tensor (sorted by path): create the dataset at full shape, combine the checksum, write
// this rank's rows in one collective transfer, attach crc32 / shard_rows and the caller's
// attributes; then the tables (rank 0 transfers the rows); close the file.
//
// This writes the file only; naming, temporary files, fsync, rename, the `latest` pointer
// and pruning are the commit protocol of runtime/checkpoint/store.h.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/comm/communicator.h"

namespace sprout::runtime {

struct WriteStats {
  int64_t tensors = 0;
  int64_t bytes = 0;           // tensor bytes written by all ranks together
  int64_t transfers = 0;       // dataset transfers this rank took part in
  int64_t independent = 0;     // of those, transfers HDF5 did not do collectively (want 0)
  uint32_t no_collective_cause = 0;  // OR of H5D_mpio_no_collective_cause_t seen
  double seconds = 0;
};

// Collective. Throws CheckpointError naming `path` (and the tensor) on failure, except
// for a failure of the disk (a full disk, EIO), which ends the job at once with the real
// cause (MPI_Abort, status 1), because HDF5 cannot close a parallel file whose write failed
// on some ranks (its collective close takes different paths and never returns):
//  - a failed tensor or table transfer is kept and agreed at the next tensor's checksum
//    allgather or before the close; the lowest failing rank prints its message, rank 0
//    removes the file, and the job ends;
//  - a failed close ends the job from the rank that saw it (the others may be waiting
//    inside the close).
// A floating
// tensor holding Inf or NaN is refused before the file is created (every written model is
// finite), naming the first such tensor.
WriteStats write_checkpoint_file(Communicator& comm, const std::string& path, const CheckpointContent& content);

}  // namespace sprout::runtime
