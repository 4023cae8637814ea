// Builds the communicator that carries a job's tensors, given the device choice
// (runtime/device/device.h), over the job's MPI world:
//   cpu  / mpi   the MPI world itself (make_backend returns null)
//   cuda / mpi   HostStagingCommunicator: CUDA tensors staged through host memory
//   cuda / nccl  NcclCommunicator bootstrapped by the MPI world
#pragma once

#include <memory>

#include "runtime/comm/communicator.h"
#include "runtime/device/device.h"
#include "runtime/comm/nccl_communicator.h"
#include "runtime/comm/watchdog.h"

namespace sprout::runtime {

struct BackendOptions {
  int gpu = 0;                   // CUDA device of this rank (cuda choices)
  Watchdog* watchdog = nullptr;  // the MPI environment's; times blocking NCCL calls
};

// Collective over `mpi_world` (which must outlive the result). Returns null when the MPI
// world itself is the backend.
std::unique_ptr<Communicator> make_backend(Communicator& mpi_world, const DeviceChoice& choice,
                                           const BackendOptions& options);

// The NCCL backend, or ConfigError when this build has none. Collective over `mpi`.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& mpi, const NcclOptions& options);

}  // namespace sprout::runtime
