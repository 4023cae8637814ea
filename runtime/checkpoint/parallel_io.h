// Pieces shared by the checkpoint writer and reader: the MPI side of parallel HDF5, the
// row split, the rank-count-independent checksum, and watchdog timing of I/O.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "runtime/comm/communicator.h"
#include "runtime/comm/watchdog.h"

namespace sprout::runtime {

// The MPI communicator under `comm` (HDF5's MPI-IO driver needs one). Throws
// CheckpointError for a communicator without one.
MPI_Comm mpi_comm_of(Communicator& comm);

// Rows [first, first + count) of an n-row tensor that `rank` of `world` transfers:
// [n·rank/world, n·(rank+1)/world). A 0-d tensor is one row.
std::pair<int64_t, int64_t> shard_rows(int64_t rows, int rank, int world);

// Every rank passes the CRC-32 and byte length of its consecutive piece of one byte
// string (rank order = byte order); every rank gets the CRC-32 of the whole string, and
// whether all ranks reported ok. One allgather. Collective.
struct AgreedCrc {
  uint32_t crc = 0;
  bool all_ok = true;
};
AgreedCrc agree_crc32(Communicator& comm, uint32_t piece_crc, int64_t piece_bytes, bool ok);

// Times one blocking parallel-I/O step with the communicator's watchdog and timeout:
// if HDF5 waits in MPI-IO for a rank that is gone, the job ends with a message naming
// `what` instead of hanging.
class IoGuard {
 public:
  IoGuard(Communicator& comm, const std::string& what);
  ~IoGuard();
  IoGuard(const IoGuard&) = delete;
  IoGuard& operator=(const IoGuard&) = delete;

 private:
  std::unique_ptr<Watchdog::Guard> guard_;
};

}  // namespace sprout::runtime
