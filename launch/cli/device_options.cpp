#include "launch/cli/device_options.h"

namespace sprout::launch {

OptionTable device_option_table() {
  return {
      {"runtime.device", "auto", "auto | cpu | cuda (auto: cuda when LibTorch has CUDA and every rank sees a GPU)"},
      {"runtime.backend", "auto", "auto | mpi | nccl (auto: nccl on cuda when built with NCCL and one GPU per rank)"},
  };
}

runtime::DeviceRequest read_device_options(const Options& options) {
  runtime::DeviceRequest r;
  r.device = options.get("runtime.device");
  r.backend = options.get("runtime.backend");
  runtime::validate_device_request(r);
  return r;
}

}  // namespace sprout::launch
