// The MPI half of bringing up an NCCL communicator, kept free of NCCL so it is built and
// tested everywhere (tests/gpu/nccl_bootstrap_mpi_test.cpp runs it with a fake id).
//
// Contract (collective over `comm`, every rank calls it with the same root):
//   root passes the 128-byte id NCCL made (ncclGetUniqueId); every rank receives it.
//   The id is then hashed on every rank and the hashes compared with two tiny allreduces,
//   so a damaged id becomes a CommError on every rank instead of a hang in
//   ncclCommInitRank.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "runtime/comm/communicator.h"

namespace sprout::runtime {

constexpr size_t kNcclIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES
using NcclIdBytes = std::array<uint8_t, kNcclIdBytes>;

// Returns root's id on every rank. `id` is read on root only. Collective.
NcclIdBytes broadcast_nccl_id(Communicator& comm, const NcclIdBytes& id, int root);

// This process's index among the ranks on its node: `mpi_local_rank` when >= 0, else
// OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID, else 0.
int local_rank_from_environment(int mpi_local_rank);

// The GPU a rank uses: its local rank modulo the GPUs visible to it.
int gpu_for_local_rank(int local_rank, int gpus);

}  // namespace sprout::runtime
