// Built instead of the NCCL backend when SPROUT_WITH_NCCL is off (runtime/device/device.cmake).
#include "runtime/comm/backend.h"
#include "runtime/device/device.h"
#include "runtime/error.h"
#include "runtime/settings.h"

namespace sprout::runtime {

bool nccl_built() { return false; }

std::string nccl_version() { return "not built"; }

std::string gpu_bus_id(int) { return ""; }

std::unique_ptr<Communicator> make_nccl_communicator(Communicator&, const NcclOptions&) {
  throw SettingError("backend", "nccl, but this sprout was built without NCCL (configure with -DSPROUT_WITH_NCCL=ON)");
}

}  // namespace sprout::runtime
