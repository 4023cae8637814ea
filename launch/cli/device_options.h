// The runtime.device / runtime.backend options (rules in runtime/device/device.h).
#pragma once

#include "launch/cli/options.h"
#include "runtime/device/device.h"

namespace sprout::launch {

OptionTable device_option_table();
// Reads and validates the values (no environment checks: those need every rank, see
// open_device in launch/train/device_session.h). Throws ConfigError naming option and value.
runtime::DeviceRequest read_device_options(const Options& options);

}  // namespace sprout::launch
