// TrainConfig: everything `sprout train` needs, read and validated from Options.
// Validation is pure (no collectives, no rank-dependent state), so every rank reaches the
// same verdict before the first collective (Note [Error agreement] in launch/cli/rank_agreement.h).
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "growth/models/arch.h"
#include "launch/adaptive/options.h"
#include "launch/growth/options.h"
#include "launch/checkpoint/options.h"
#include "launch/cli/device_options.h"
#include "launch/train/init_from.h"
#include "launch/cli/runtime_options.h"
#include "launch/cli/option_binder.h"
#include "launch/slimmable/options.h"
#include "runtime/optim/lr_schedule.h"
#include "runtime/optim/optimizer.h"

namespace sprout::launch {

struct LoopConfig {
  int64_t batch = 64;       // per rank
  int64_t steps = 0;        // 0: derived from epochs
  double epochs = 1;        // used when steps == 0
  uint64_t seed = 0;
  int64_t eval_every = 0;   // 0: evaluate at the end only
  int64_t log_every = 50;
  int64_t eval_batch = 1000;
  int64_t accumulate = 1;   // micro-batches of `batch` per optimizer step
};

struct RuntimeConfig {
  int threads = 0;          // 0: cores on this node / ranks on this node
  double bucket_mb = 25.0;
  double timeout_s = 300.0;
  std::string precision = "fp32";  // fp32 | bf16 (autocast forward, float32 weights and state)
};

struct LogConfig {
  std::string metrics;            // JSONL path ("" = none)
  std::string progress = "auto";  // auto | bar | lines | none
};

// `sprout train`'s defaults where they differ from the libraries' own.
inline runtime::LrScheduleOptions default_train_schedule() {
  runtime::LrScheduleOptions s;
  s.name = "cosine";
  return s;
}

// Every field's initial value is its option's default (bind_train_options below).
struct TrainConfig {
  data::DataOptions data;
  std::string augment = "none";  // data.augment: none | crop_flip (data/augment.h)
  growth::ArchSpec model;  // model.kind and the family's model.* settings
  runtime::OptimizerOptions optim;
  runtime::LrScheduleOptions schedule = default_train_schedule();
  LoopConfig train;
  RuntimeConfig runtime;
  runtime::DeviceRequest device;  // runtime.device, runtime.backend (launch/cli/device_options.h)
  LogConfig log;
  GrowthConfig growth;  // launch/growth/options.h
  CheckpointConfig checkpoint;  // launch/checkpoint/options.h
  int64_t test_step_sleep_ms = 0;  // TEST ONLY (time-limit tests): sleep after every step
  InitConfig init;  // launch/train/init_from.h
  SlimConfig slim;   // train.mode = slimmable (launch/slimmable/options.h)
  EngineConfig engine;  // runtime.overlap (launch/cli/runtime_options.h)
  AdaptiveConfig adaptive;  // model.adaptive (launch/adaptive/options.h)
  std::string text;  // canonical option text (compared across ranks, stored in checkpoints)

  // Steps the run takes, given the training-set size and world size.
  int64_t total_steps(int64_t train_examples, int world) const;
};

// Declares every option of `sprout train`, each bound to its field of `c` (whose values
// are the defaults), its parts' options included (growth, checkpoint, slimmable, ...).
void bind_train_options(OptionBinder& b, TrainConfig& c);
// model.kind and every registered family's settings (model.<key>), stored in model.params.
void bind_model_options(OptionBinder& b, growth::ArchSpec& model);
// The option table of `sprout train`.
OptionTable train_option_table();
// Reads and validates every option; throws ConfigError naming the option and value.
TrainConfig read_train_config(const Options& options);

}  // namespace sprout::launch
