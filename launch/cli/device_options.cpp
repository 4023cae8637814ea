#include "launch/cli/device_options.h"

namespace sprout::launch {

void bind_device_options(OptionBinder& b, runtime::DeviceRequest& r) {
  b.add("runtime.device", &r.device, "auto | cpu | cuda (auto: cuda when LibTorch has CUDA and every rank sees a GPU)");
  b.add("runtime.backend", &r.backend,
        "auto | mpi | nccl (auto: nccl on cuda when built with NCCL and one GPU per rank)");
}

OptionTable device_option_table() { return table_of(bind_device_options); }

ConfigError device_option_error(const runtime::SettingError& e) {
  return option_error(e, {{"device", "runtime.device"}, {"backend", "runtime.backend"}});
}

void validate_device_options(const runtime::DeviceRequest& request) {
  try {
    runtime::validate_device_request(request);
  } catch (const runtime::SettingError& e) {
    throw device_option_error(e);
  }
}

runtime::DeviceChoice choose_device_for_options(const runtime::DeviceRequest& request,
                                                const runtime::DeviceProbe& agreed) {
  try {
    return runtime::choose_device(request, agreed);
  } catch (const runtime::SettingError& e) {
    throw device_option_error(e);
  }
}

runtime::DeviceRequest read_device_options(const Options& options) {
  auto r = load_bound(options, bind_device_options);
  validate_device_options(r);
  return r;
}

}  // namespace sprout::launch
