// The stall part of `sprout bench checkpoint`: how long training is blocked by one
// checkpoint with checkpoint.async = false and true, and how much slower the steps that
// run while an asynchronous write is in flight are than normal steps — measured side by
// side in one run on a wide MLP trained with AdamW (parameters + two moment slots: a
// 784-H-H-10 network with H = 4096 gives a ≈ 241 MB checkpoint).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/context.h"
#include "runtime/json.h"

namespace sprout::launch {

struct StallBenchOptions {
  int64_t hidden = 4096;  // the MLP's width
  int64_t batch = 32;     // per rank
  int64_t repeat = 2;     // checkpoints per mode
  std::string dir;        // a directory of the benchmark's own (removed by the caller)
};

// Prints a table (rank 0) and returns its figures as JSON. Collective.
runtime::JsonObject bench_checkpoint_stall(runtime::RuntimeContext& ctx, const StallBenchOptions& options);

}  // namespace sprout::launch
