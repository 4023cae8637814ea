#include "runtime/checkpoint/parallel_io.h"

#include <zlib.h>

#include "runtime/error.h"
#include "runtime/comm/mpi_communicator.h"

namespace sprout::runtime {

MPI_Comm mpi_comm_of(Communicator& comm) {
  auto* mpi = dynamic_cast<MpiCommunicator*>(&comm);
  SPROUT_CHECK(mpi, CheckpointError, "checkpoints need an MPI communicator (this one is '", comm.backend(), "')");
  return mpi->handle();
}

std::pair<int64_t, int64_t> shard_rows(int64_t rows, int rank, int world) {
  const int64_t lo = rows * rank / world, hi = rows * (rank + 1) / world;
  return {lo, hi - lo};
}

AgreedCrc agree_crc32(Communicator& comm, uint32_t piece_crc, int64_t piece_bytes, bool ok) {
  auto mine = torch::tensor({static_cast<int64_t>(piece_crc), piece_bytes, static_cast<int64_t>(ok ? 1 : 0)},
                            torch::kInt64);
  auto all = comm.allgather(mine);  // (W, 3)
  auto a = all.accessor<int64_t, 2>();
  AgreedCrc out;
  uLong crc = crc32(0L, Z_NULL, 0);
  for (int64_t r = 0; r < all.size(0); ++r) {
    out.all_ok = out.all_ok && a[r][2] == 1;
    // crc32_combine(crc(A), crc(B), len(B)) = crc(A·B): the pieces fold into the CRC of
    // the whole tensor whatever the number of pieces.
    crc = crc32_combine(crc, static_cast<uLong>(a[r][0]), static_cast<z_off_t>(a[r][1]));
  }
  out.crc = static_cast<uint32_t>(crc);
  return out;
}

IoGuard::IoGuard(Communicator& comm, const std::string& what) {
  if (auto* mpi = dynamic_cast<MpiCommunicator*>(&comm)) {
    guard_ = std::make_unique<Watchdog::Guard>(mpi->watchdog(), "checkpoint I/O", what, comm.timeout());
  }
}

IoGuard::~IoGuard() = default;

}  // namespace sprout::runtime
