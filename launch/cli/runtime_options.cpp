#include "launch/cli/runtime_options.h"

namespace sprout::launch {

OptionTable engine_option_table() {
  return {
      {"runtime.overlap", "true",
       "reduce gradient buckets while backward runs (false: after it; results are bitwise equal)"},
  };
}

EngineConfig read_engine_config(const Options& o) {
  EngineConfig c;
  c.overlap = o.get_bool("runtime.overlap");
  return c;
}

}  // namespace sprout::launch
