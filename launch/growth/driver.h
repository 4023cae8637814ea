// GrowthDriver: runs the growth schedule of `sprout train` (launch/growth/options.h).
//
// Built in Trainer::prepare() (inside the agreed phase, so a bad schedule ends every rank
// with one line and exit 2): expands the compact form against the model's starting
// widths and validates every event (known site, 0 <= step < total steps, K > 0).
// Trainer::before_step() calls before_step(), which runs every event due at the current
// step, in order, as one surgery each (growth::grow, runtime/surgery/surgery.h) — collective:
// every rank calls it at every step. Events before the current step (a resumed run) are
// skipped: their effect is in the restored model.
//
// Depth events ("STEP:stage2:+1block") run growth::grow_depth in the same place and order.
// Per event: the growth batch is drawn from (train.seed, step) — not from the training
// sampler, so a resumed run draws the same one — and split over ranks; the strategy's
// generator is seeded by (train.seed, step, site). After the surgery the driver measures
// ‖∂L/∂W_new‖_F on the same batch, appends a GrowthRecord to Trainer::growth_history() and
// logs one event line plus a metrics JSON object {"event":"growth", ...}.
// With growth.auto the events are decided while training (launch/growth/auto_driver.h):
// after_step() feeds the step's loss to it, before_step() runs what it decides, through the
// same run_event (a width decision) or run_depth_event (a block, with its depth strategy) as
// a scheduled event.
// Test hook: SPROUT_TEST_CORRUPT_RANK=R corrupts rank R during every surgery (surgery.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "growth/models/model.h"
#include "growth/schedule.h"
#include "growth/strategies/strategy.h"
#include "launch/growth/options.h"
#include "launch/train/progress.h"

namespace sprout::launch {

class Trainer;
class AutoGrowth;  // launch/growth/auto_driver.h

class GrowthDriver {
 public:
  // Throws ConfigError for a schedule that does not fit the model or the run.
  GrowthDriver(const GrowthConfig& config, const growth::Model& model, int64_t total_steps, uint64_t seed);
  ~GrowthDriver();

  const std::vector<growth::GrowthEvent>& events() const { return events_; }
  // Widths the run ends at.
  const std::map<std::string, int64_t>& target_widths() const { return target_; }

  // Runs the events due at trainer.step() (collective).
  void before_step(Trainer& trainer, Progress& progress);
  // After a step, before its checkpoints: the step's loss (this rank's) for automatic growth
  // (collective when growth.auto is on, nothing otherwise).
  void after_step(Trainer& trainer, double loss);
  AutoGrowth* automatic() { return auto_.get(); }  // null unless growth.auto = true

  // This rank's share of the growth batch of (seed, step): `global` examples drawn without
  // replacement from the training split, rank r taking [global·r/W, global·(r+1)/W).
  static growth::GrowthBatch growth_batch(const data::DataSplits& data, uint64_t seed, int64_t step, int64_t global,
                                          int rank, int world);

 private:
  void run_event(Trainer& trainer, Progress& progress, const growth::GrowthEvent& event);
  // A depth event (growth/depth.h): recorded with site "depth:<place>" and the blocks at
  // the place before and after as old/new width; its metrics object also holds
  // function_change, max |Δ logit| / max |logit| on the growth batch (eval mode).
  // `strategy`: growth.strategy, or automatic growth's depth strategy.
  void run_depth_event(Trainer& trainer, Progress& progress, const growth::GrowthEvent& event,
                       const std::string& strategy);

  GrowthConfig config_;
  uint64_t seed_;
  std::vector<growth::GrowthEvent> events_;
  std::map<std::string, int64_t> target_;
  size_t next_ = 0;
  std::unique_ptr<AutoGrowth> auto_;
};

}  // namespace sprout::launch
