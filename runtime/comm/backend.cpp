#include "runtime/comm/backend.h"

#include <mpi.h>

#include "runtime/comm/host_staging_communicator.h"

namespace sprout::runtime {

std::unique_ptr<Communicator> make_backend(Communicator& mpi_world, const DeviceChoice& choice,
                                           const BackendOptions& options) {
  if (choice.device == DeviceKind::Cpu) return nullptr;
  if (choice.backend == BackendKind::Mpi) {
    int granted = MPI_THREAD_SINGLE;
    MPI_Query_thread(&granted);
    require_staging_thread_level(granted);  // the same MPI library on every rank: same answer
    return std::make_unique<HostStagingCommunicator>(mpi_world);
  }
  NcclOptions nccl;
  nccl.device = options.gpu;
  nccl.watchdog = options.watchdog;
  return make_nccl_communicator(mpi_world, nccl);
}

}  // namespace sprout::runtime
