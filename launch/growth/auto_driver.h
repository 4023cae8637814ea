// AutoGrowth: growth.auto = true in `sprout train` — the decisions of growth/auto_growth.h
// taken on the running model, every rank alike (growth/README.md "Automatic growth").
//
// Built by the GrowthDriver in Trainer::prepare() (inside the agreed phase): the candidates
// are the model's inner sites and heads groups (or growth.auto_sites) that growth.strategy
// accepts — those of the model at each decision, so a block added earlier brings its own —
// and, where the family grows in depth (resnet, vit), every place a block can go
// (growth/auto_depth.h); growth.auto_kinds keeps width or depth only. No candidate, an
// unknown or refused name in growth.auto_sites, depth asked of a family that cannot grow
// in depth, or a model already above growth.max_params / growth.max_macs is a ConfigError
// (one line, status 2).
//
// Collective contract (every rank, every step, in this order):
//   Trainer::after_step -> record_loss(loss): one allreduce (the step's mean loss over the
//     ranks), fed to the plateau detector. When a window closes, one more allreduce checks
//     that every rank's detector holds the same state; a difference ends every rank with
//     one error naming both values (it cannot happen unless a rank computed another loss).
//   Trainer::before_step -> GrowthDriver::before_step -> decide(): on a plateau, the growth
//     batch of (train.seed, step), M of every feasible candidate (one allreduce each; a
//     depth candidate one per group of its new block), the choice (one allreduce checks
//     that every rank chose the same); the GrowthDriver then runs the chosen event through
//     the scheduled events' own surgery (width: growth::grow, depth: growth::grow_depth
//     with depth_strategy(); its decide() compares rank 0's description with every rank's)
//     and calls grew(). A depth decision is recorded in the growth history (and so in the
//     checkpoint) as "depth:<place>", as a scheduled depth event is.
// The detector's state is part of the checkpoint (/growth/auto: state_attributes), so a
// run resumed on any number of ranks decides as the uninterrupted one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "growth/auto_growth.h"
#include "growth/models/model.h"
#include "growth/schedule.h"
#include "launch/growth/options.h"
#include "launch/train/progress.h"
#include "runtime/checkpoint/checkpoint.h"

namespace sprout::launch {

class Trainer;

class AutoGrowth {
 public:
  // Throws ConfigError (see above).
  AutoGrowth(const GrowthConfig& config, const growth::Model& model, uint64_t seed);

  // After step trainer.step() − 1 was taken, before checkpoints of that step (collective).
  void record_loss(Trainer& trainer, double local_loss);
  // Before step trainer.step(): on a plateau, the event to run (logged with its evidence);
  // nothing otherwise, or when no candidate fits the budget (logged once). Collective.
  std::optional<growth::GrowthEvent> decide(Trainer& trainer, Progress& progress);
  // The decided event has been applied before step `step`.
  void grew(int64_t step) { detector_.grew(step); }
  // The strategy a decided depth event runs with: growth.strategy where it adds blocks
  // (random, zeros, gradmax, vt), gradmax otherwise.
  const std::string& depth_strategy() const { return depth_strategy_; }

  const growth::PlateauDetector& detector() const { return detector_; }
  void restore(const growth::PlateauState& state) { detector_ = growth::PlateauDetector(settings_, state); }

  // The candidates at this point, sized and scored on the growth batch of this step
  // (collective; public for tests).
  std::vector<growth::GrowthCandidate> candidates(Trainer& trainer);

 private:
  GrowthConfig config_;
  uint64_t seed_;
  growth::PlateauSettings settings_;
  growth::PlateauDetector detector_;
  growth::CostMeasure cost_;
  // The width groups that are candidates in `model` (growth.auto_kinds, growth.auto_sites,
  // the strategy's refusals), in the model's order.
  std::vector<std::string> width_groups(const growth::Model& model) const;

  bool depth_ = false;          // the places a block can go are candidates too
  std::string depth_strategy_;  // the strategy of a decided depth event
  bool exhausted_ = false;      // no candidate fits the budget any more
};

// The detector's state as checkpoint attributes (/growth/auto) and back; a missing or
// mistyped attribute is a CheckpointError naming `where`.
runtime::Attributes state_attributes(const growth::PlateauState& state);
growth::PlateauState state_from_attributes(const runtime::Attributes& attrs, const std::string& where);

}  // namespace sprout::launch
