// The runtime.device / runtime.backend options (rules in runtime/device/device.h).
#pragma once

#include "launch/cli/option_binder.h"
#include "runtime/device/device.h"

namespace sprout::launch {

void bind_device_options(OptionBinder& b, runtime::DeviceRequest& r);
OptionTable device_option_table();
// runtime's device errors (runtime/device/device.h) reworded with these options' names.
ConfigError device_option_error(const runtime::SettingError& e);
// runtime::validate_device_request / choose_device, their errors naming the options.
void validate_device_options(const runtime::DeviceRequest& request);
runtime::DeviceChoice choose_device_for_options(const runtime::DeviceRequest& request, const runtime::DeviceProbe& agreed);
// Reads and validates the values (no environment checks: those need every rank, see
// open_device in launch/train/device_session.h). Throws ConfigError naming option and value.
runtime::DeviceRequest read_device_options(const Options& options);

}  // namespace sprout::launch
