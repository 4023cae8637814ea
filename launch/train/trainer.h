// Trainer: the data-parallel training loop of `sprout train`, readable top to bottom.
//
//   prepare()   load data, build model and optimizer      (no collectives; agreed on by caller)
//   run()       broadcast rank 0's replica, then per step:
//                 sampler -> forward -> backward -> averaged gradients -> optimizer step
//                 -> buffer averaging -> logging -> evaluation
//               and a final evaluation.                    (collective)
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "data/dataset.h"
#include "data/sampler.h"
#include "growth/history.h"
#include "growth/models/model.h"
#include "launch/train/progress.h"
#include "launch/train/train_config.h"
#include "runtime/context.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/json.h"
#include "runtime/optim/lr_schedule.h"
#include "runtime/optim/optimizer.h"
#include "runtime/torch_compat.h"

namespace sprout::runtime {
class AsyncCheckpointWriter;  // runtime/checkpoint/async_save.h
}

namespace sprout::launch {

class GrowthDriver;  // launch/growth/driver.h
class SlimmableStep;  // train.mode = slimmable (launch/slimmable/step.h)
class AdaptiveStep;  // model.adaptive = true (launch/adaptive/step.h)

struct Evaluation {
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  double loss = std::numeric_limits<double>::quiet_NaN();
  int64_t examples = 0;
};

struct TrainResult {
  int64_t step = 0;
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  Evaluation test;
  double samples_per_s = 0;
  double wall_s = 0;
  int world_size = 1;
  std::map<std::string, int64_t> widths;
  std::string model;
  double peak_rss_mb = 0;         // largest peak resident memory over the ranks
  double optimizer_state_mb = 0;  // optimizer state held by one rank (rank 0; sharded: its slice)
  // Training FLOPs of the steps this run trained (not those before a resume): 6 × MACs per
  // example (forward 2, backward 4 per MAC) × global examples per step, at the model's
  // size at each step — growth in width and depth counted from the step it happens.
  // Full-width MACs: a slimmable sub-network's step is not discounted.
  double train_flops = 0;
  // The summary line printed last on stdout.
  runtime::JsonObject summary() const;
};

// The data set of `config` (data.*); a file that cannot be read is a ConfigError naming the
// data option (bad input: status 2).
data::DataSplits load_training_data(const TrainConfig& config);

class Trainer {
 public:
  Trainer(runtime::RuntimeContext ctx, TrainConfig config);
  ~Trainer();

  void prepare();  // prepare(load_training_data(config))
  // prepare() on data already loaded (no read): `sprout fedcl` gives each client its shard.
  void prepare(data::DataSplits data);
  TrainResult run();
  // Starts from `weights` instead of the fresh initialisation: copies every parameter and
  // buffer by name (same shapes, else ConfigError). After prepare(), before run(), on every
  // rank alike (no collectives). Used by `sprout fedcl` to fine-tune experts.
  void load_weights(const runtime::ParamSet& weights);

  // One training step at the current position (collective): train.accumulate micro-batches
  // of train.batch, one reduction, optional clipping, one optimizer step. Returns this
  // rank's loss (mean over the micro-batches).
  double train_step();
  Evaluation evaluate();
  // The normalised model input of training examples `idx` (B) of this step's epoch, on the
  // device, augmented when data.augment asks for it.
  torch::Tensor training_input(const torch::Tensor& idx) const;

  growth::Model& model() { return *model_; }
  runtime::Optimizer& optimizer() { return *optimizer_; }
  runtime::DataParallel& engine() { return *engine_; }
  data::DistributedSampler& sampler() { return *sampler_; }
  const data::DataSplits& data() const { return data_; }
  const TrainConfig& config() const { return config_; }
  int64_t step() const { return step_; }
  int64_t total_steps() const { return total_steps_; }
  growth::GrowthHistory& growth_history() { return growth_history_; }
  GrowthDriver& growth_driver() { return *growth_; }  // after prepare()
  runtime::RuntimeContext& context() { return ctx_; }
  Progress& progress() { return *progress_; }
  // The checkpoint write in flight, if any (checkpoint.async: launch/checkpoint/checkpointer.h).
  runtime::AsyncCheckpointWriter& async_checkpoints();
  void set_step(int64_t step) { step_ = step; }  // checkpoint restore (launch/checkpoint/run_state.h)
  // The input normalisation a checkpoint stores (restore), instead of computing it again.
  void set_normalization(data::Normalization norm) { data_.norm = std::move(norm); }
  SlimmableStep* slimmable() { return slim_.get(); }  // null unless train.mode = slimmable
  AdaptiveStep* adaptive() { return adaptive_.get(); }  // null unless model.adaptive = true

 private:
  // Extension points of the loop, in the order run() calls them. Each feature keeps its
  // logic in its own file and is called from here with a line or two.
  // After the initial broadcast: restore from a checkpoint (if any); the input
  // normalisation, unless known (collective).
  void start();
  void before_step();  // at step_, before its forward pass: scheduled width changes
  // After the optimizer step: the step's agreement (Note [Step agreement] in launch/train/trainer.cpp),
  // periodic checkpoints, stop requests.
  void after_step(double loss);
  void at_end();       // after the last step: final checkpoint
  void probe_precision();  // runtime.precision = bf16: refuse a model that cannot run it
  // The autocast guard of runtime.precision (empty for fp32).
  std::optional<compat::AutocastGuard> mixed_precision() const;
  // Logs the mean loss of the last `count` steps over all ranks (collective); returns it.
  double log_step(double loss_sum, int64_t count, double seconds);

  runtime::RuntimeContext ctx_;
  TrainConfig config_;
  data::DataSplits data_;
  std::unique_ptr<growth::Model> model_;
  std::unique_ptr<runtime::Optimizer> optimizer_;
  std::unique_ptr<runtime::LrSchedule> schedule_;
  std::unique_ptr<runtime::DataParallel> engine_;
  std::unique_ptr<data::DistributedSampler> sampler_;
  std::unique_ptr<Progress> progress_;
  std::unique_ptr<runtime::AsyncCheckpointWriter> async_checkpoints_;
  growth::GrowthHistory growth_history_;
  std::unique_ptr<GrowthDriver> growth_;  // scheduled width changes (before_step)
  std::unique_ptr<SlimmableStep> slim_;  // train.mode = slimmable
  std::unique_ptr<AdaptiveStep> adaptive_;  // model.adaptive = true
  int64_t step_ = 0;
  int64_t total_steps_ = 0;
  double last_lr_ = 0;
  double last_grad_norm_ = 0;  // before clipping (optim.clip_norm > 0)
};

}  // namespace sprout::launch
