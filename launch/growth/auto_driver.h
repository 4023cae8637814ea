// AutoGrowth: growth.auto = true in `sprout train` — the decisions of growth/auto_growth.h
// taken on the running model, every rank alike (growth/README.md "Automatic growth").
//
// Built by the GrowthDriver in Trainer::prepare() (inside the agreed phase): the candidates
// are the model's inner sites and heads groups (or growth.auto_sites) that growth.strategy
// accepts; none, an unknown name in growth.auto_sites or a model already above
// growth.max_params / growth.max_macs is a ConfigError (one line, status 2).
//
// Collective contract (every rank, every step, in this order):
//   Trainer::after_step -> record_loss(loss): one allreduce (the step's mean loss over the
//     ranks), fed to the plateau detector. When a window closes, one more allreduce checks
//     that every rank's detector holds the same state; a difference ends every rank with
//     one error naming both values (it cannot happen unless a rank computed another loss).
//   Trainer::before_step -> GrowthDriver::before_step -> decide(): on a plateau, the growth
//     batch of (train.seed, step), M of every feasible candidate (one allreduce each), the
//     choice (one allreduce checks that every rank chose the same); the GrowthDriver then
//     runs the chosen event through the scheduled events' own surgery (whose decide()
//     compares rank 0's description with every rank's) and calls grew().
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
  std::vector<std::string> groups_;  // candidate groups in the model's order
  bool exhausted_ = false;           // no candidate fits the budget any more
};

// The detector's state as checkpoint attributes (/growth/auto) and back; a missing or
// mistyped attribute is a CheckpointError naming `where`.
runtime::Attributes state_attributes(const growth::PlateauState& state);
growth::PlateauState state_from_attributes(const runtime::Attributes& attrs, const std::string& where);

}  // namespace sprout::launch
