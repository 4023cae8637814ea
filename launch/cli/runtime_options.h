// Options of the data-parallel engine that `sprout train` adds to its table (runtime.*
// options owned by runtime/engine/data_parallel.h; threads and bucket size live in RuntimeConfig).
#pragma once

#include "launch/cli/option_binder.h"

namespace sprout::launch {

struct EngineConfig {
  bool overlap = true;  // runtime.overlap: reduce gradient buckets during backward
};

void bind_engine_options(OptionBinder& b, EngineConfig& c);
OptionTable engine_option_table();
// Throws ConfigError naming the option and value.
EngineConfig read_engine_config(const Options& options);

}  // namespace sprout::launch
