#include "runtime/comm/nccl_bootstrap.h"

#include <cstdlib>
#include <cstring>

#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {

NcclIdBytes broadcast_nccl_id(Communicator& comm, const NcclIdBytes& id, int root) {
  SPROUT_CHECK(root >= 0 && root < comm.size(), CommError, "nccl bootstrap: root ", root,
               " is not a rank of a communicator of size ", comm.size());
  auto bytes = torch::zeros({static_cast<int64_t>(kNcclIdBytes)}, torch::kUInt8);  // (128)
  if (comm.rank() == root) std::memcpy(bytes.data_ptr<uint8_t>(), id.data(), kNcclIdBytes);
  comm.broadcast(bytes, root);

  // Every rank must now hold the same bytes: compare hashes (min == max).
  const auto hash = static_cast<int64_t>(tensor_hash(bytes));
  auto lo = torch::tensor({hash}, torch::kInt64), hi = lo.clone();
  comm.allreduce(lo, ReduceOp::Min);
  comm.allreduce(hi, ReduceOp::Max);
  SPROUT_CHECK(lo.item<int64_t>() == hi.item<int64_t>(), CommError,
               "nccl bootstrap: the unique id broadcast from rank ", root,
               " arrived damaged on some rank (hashes differ)");

  NcclIdBytes out;
  std::memcpy(out.data(), bytes.data_ptr<uint8_t>(), kNcclIdBytes);
  return out;
}

int local_rank_from_environment(int mpi_local_rank) {
  if (mpi_local_rank >= 0) return mpi_local_rank;
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') continue;
    char* end = nullptr;
    const long r = std::strtol(v, &end, 10);
    if (end != nullptr && *end == '\0' && r >= 0) return static_cast<int>(r);
  }
  return 0;
}

int gpu_for_local_rank(int local_rank, int gpus) {
  SPROUT_CHECK(gpus > 0, ConfigError, "no CUDA device is visible to this rank");
  return local_rank % gpus;
}

}  // namespace sprout::runtime
