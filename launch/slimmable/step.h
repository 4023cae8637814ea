// train.mode = slimmable: the training step of a DS-Net supernet and, after it, of its
// dynamic gate (Li et al., CVPR 2021; growth/README.md "Slimmable networks and the dynamic
// gate"). Trainer::train_step dispatches here.
//
// Steps [0, S) train the supernet (S = the run's train.steps / train.epochs), each one:
//   sandwich rule — the largest width, slim.random widths drawn from (seed, step) (so every
//   rank draws the same ones), and the smallest; the largest learns the labels, the others
//   learn soft targets (slim.distill): `bootstrap` — DS-Net's in-place ensemble
//   bootstrapping, the EMA teacher's largest output (with slim.ensemble the smallest learns
//   the mean of the teacher's largest and random sub-networks); `inplace` — the live
//   largest's detached output (US-Nets); `none` — labels. The teacher is a copy of the
//   model made at the first step, then updated after every optimizer step (decay
//   slim.ema_decay, warmed up; floating buffers averaged too, as timm's ModelEma).
//   The widths' losses are summed and back-propagated once, so their gradients accumulate
//   in .grad and the data-parallel engine reduces them in the step's single pass over the
//   buckets (one allreduce per bucket, as a plain step); an engine that overlaps the
//   reduction with backward sees exactly one backward per step.
// Steps [S, S + slim.gate_steps) train the gate's width head with the supernet frozen
// (batch-norm in eval mode): targets by sandwich gate sparsification (the smallest width
// if it classifies the example correctly, else the largest), a hard one-hot straight-
// through Gumbel-softmax choice whose task loss reaches the gate through the chosen
// sub-network's logits, and slim.gate_macs_weight · (mean MACs / largest MACs)². Its one
// reduction still covers every bucket (zeros for the frozen supernet): the collective
// sequence stays that of a plain step.
//
// Not yet checkpointed: the EMA teacher (restarts as a copy of the restored model).
//
// Collective: every rank calls train_step for the same steps.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "growth/slimmable/slimmable.h"
#include "launch/train/progress.h"
#include "launch/slimmable/eval.h"

namespace sprout::launch {

class Trainer;

class SlimmableStep {
 public:
  // Wraps the trainer's model (registers switchable statistics and gate parameters); called
  // by Trainer::prepare() once the model, optimizer and engine exist.
  explicit SlimmableStep(Trainer& trainer);
  ~SlimmableStep();

  // Steps added to the run after the supernet steps.
  int64_t gate_steps() const;
  // One step at `step` (collective). Sets *lr to the learning rate used; returns this
  // rank's loss (supernet: the largest width's cross-entropy; gate: the gate's loss).
  double train_step(int64_t step, double* lr);
  // After the last step: the per-width table and the dynamic row (collective); printed by
  // rank 0 and written to the metrics file.
  std::vector<WidthEvaluation> at_end(Progress& progress);

  growth::SlimmableNet& net() { return *net_; }
  // The EMA teacher's tensors (slim.distill = bootstrap), same names as the model's.
  const runtime::ParamSet* teacher() const;

  // Ratio indices trained at `step` in order: largest, `random` draws among the interior
  // ratios (none when there are only two), smallest. The same on every rank.
  static std::vector<size_t> sandwich(size_t num_ratios, int64_t random, uint64_t seed, int64_t step);

 private:
  double supernet_step(int64_t step, const torch::Tensor& x, const torch::Tensor& y, double lr);
  double gate_step(int64_t step, const torch::Tensor& x, const torch::Tensor& y, double lr);
  void update_teacher();

  Trainer& trainer_;
  std::unique_ptr<growth::SlimmableNet> net_;
  std::unique_ptr<growth::Model> teacher_model_;
  std::unique_ptr<growth::SlimmableNet> teacher_;
  bool teacher_ready_ = false;
  int64_t teacher_updates_ = 0;
  int64_t supernet_steps_ = 0;
  std::vector<bool> gate_param_;  // per parameter index: trained in the gate stage
};

}  // namespace sprout::launch
