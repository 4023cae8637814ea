#include "launch/cli/runtime_options.h"

namespace sprout::launch {

void bind_engine_options(OptionBinder& b, EngineConfig& c) {
  b.add("runtime.overlap", &c.overlap,
        "reduce gradient buckets while backward runs (false: after it; results are bitwise equal)");
}

OptionTable engine_option_table() { return table_of(bind_engine_options); }

EngineConfig read_engine_config(const Options& o) { return load_bound(o, bind_engine_options); }

}  // namespace sprout::launch
