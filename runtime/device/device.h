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
// "A GPU of its own" is decided as NCCL decides it: by the PCI bus id of the GPU each rank
// would use, compared across the ranks of a node (gpu_sharing). Counting the GPUs a rank
// sees is wrong under per-rank visibility (Slurm's --gpus-per-task, --gpu-bind, or
// CUDA_VISIBLE_DEVICES set per rank): every rank then sees one GPU, a different one. Only
// when a bus id is unknown does the count decide (GPUs visible >= ranks on the node).
//
// The choice is made from a DeviceProbe agreed over all ranks (the weakest rank decides),
// so every rank reaches the same choice or the same ConfigError.
#pragma once

#include <string>
#include <vector>

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
  std::string host;         // this rank's node name
  std::string gpu_id;       // PCI bus id of the GPU this rank would use; "" when unknown
  // "" when every rank of a node has a GPU of its own, else why not (one line). probe_device
  // judges this rank alone; agree_probe judges all ranks.
  std::string gpu_sharing;
};

// One rank's view, for gpu_sharing.
struct RankGpu {
  std::string host;
  std::string gpu_id;  // "" when unknown
  int gpus = 0;        // GPUs visible to the rank
  int local_size = 1;  // ranks on its node
};
// "" when no two ranks of a node use the same GPU, else the first conflict ("ranks 0 and 1
// on node n1 both use GPU 0000:3b:00.0", or "a node runs 3 ranks on 1 GPU(s)" where a bus
// id is unknown). Ranks are indexed by their position in `ranks`. Pure.
std::string gpu_sharing(const std::vector<RankGpu>& ranks);

struct DeviceChoice {
  DeviceKind device = DeviceKind::Cpu;
  BackendKind backend = BackendKind::Mpi;
  std::string describe() const;  // "cuda/nccl"
};

// Checks the values alone (no environment); throws SettingError (runtime/settings.h) naming
// the field (device, backend) and the value.
void validate_device_request(const DeviceRequest& request);

// This process's probe (no collectives). `local_rank` picks the GPU it would use
// (gpu_for_local_rank); < 0: from the environment (local_rank_from_environment).
DeviceProbe probe_device(int local_size, int local_rank = -1);
// The probe every rank agrees on: weakest capability, largest node. Collective.
DeviceProbe agree_probe(Communicator& comm, const DeviceProbe& mine);
// Applies the rules above; throws SettingError (one line naming the field) when the
// request cannot be met. Pure.
DeviceChoice choose_device(const DeviceRequest& request, const DeviceProbe& agreed);

// Whether this build has the NCCL backend, and its versions ("not built" otherwise).
bool nccl_built();
std::string nccl_version();
// PCI bus id of CUDA device `device` ("0000:3b:00.0"); "" when unknown (a build without the
// CUDA runtime, or the runtime cannot tell).
std::string gpu_bus_id(int device);

}  // namespace sprout::runtime
