// Device and backend choice: where a job's tensors live (runtime.device) and which library
// carries their collectives (runtime.backend).
//
//   runtime.device  auto | cpu | cuda   auto: cuda when LibTorch has CUDA and every rank
//                                       sees a GPU, else cpu
//   runtime.backend auto | mpi | nccl   auto follows the device: nccl on cuda when sprout
//                                       was built with NCCL and each rank of a node has a
//                                       GPU of its own; mpi otherwise (CUDA tensors staged
//                                       through host memory, runtime/comm/host_staging_communicator.h)
//
// The choice is made from a DeviceProbe agreed over all ranks (the weakest rank decides),
// so every rank reaches the same choice or the same ConfigError.
#pragma once

#include <string>

#include "runtime/comm/communicator.h"

namespace sprout::runtime {

enum class DeviceKind { Cpu, Cuda };
enum class BackendKind { Mpi, Nccl };
const char* to_string(DeviceKind kind);
const char* to_string(BackendKind kind);

struct DeviceRequest {
  std::string device = "auto";   // auto | cpu | cuda
  std::string backend = "auto";  // auto | mpi | nccl
};

// What a rank's process can use.
struct DeviceProbe {
  bool torch_cuda = false;  // LibTorch was built with CUDA and can reach a driver
  int gpus = 0;             // CUDA devices visible to this rank
  bool nccl = false;        // sprout was built with the NCCL backend
  int local_size = 1;       // ranks on this rank's node
};

struct DeviceChoice {
  DeviceKind device = DeviceKind::Cpu;
  BackendKind backend = BackendKind::Mpi;
  std::string describe() const;  // "cuda/nccl"
};

// Checks the values alone (no environment); throws SettingError (runtime/settings.h) naming
// the field (device, backend) and the value.
void validate_device_request(const DeviceRequest& request);

// This process's probe (no collectives).
DeviceProbe probe_device(int local_size);
// The probe every rank agrees on: weakest capability, largest node. Collective.
DeviceProbe agree_probe(Communicator& comm, const DeviceProbe& mine);
// Applies the rules above; throws SettingError (one line naming the field) when the
// request cannot be met. Pure.
DeviceChoice choose_device(const DeviceRequest& request, const DeviceProbe& agreed);

// Whether this build has the NCCL backend, and its versions ("not built" otherwise).
bool nccl_built();
std::string nccl_version();

}  // namespace sprout::runtime
