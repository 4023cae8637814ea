// model.adaptive = true: adaptive width in `sprout train` (growth/adaptive/adaptive.h,
// growth/README.md "Adaptive width").
// The trainer calls it with a line each:
//   Trainer::prepare()      AdaptiveStep(trainer) once the rates are parameters (make_adaptive
//                           runs right after the model is built, before the optimizer state)
//   Trainer::before_step()  before_step(): every adaptive.check_every steps, D_ℓ of every
//                           site from its λ_ℓ; if any differs from the width, one surgery
//                           (growth::adapt_widths) resizes them all
//   Trainer::train_step()   forward() applies the importances; objective() turns the mean
//                           cross-entropy into −ELBO/N (4)
//   Trainer::evaluate()     forward() (the importances are part of the model's function)
//
// Note [Adaptive agreement]: λ is a parameter, so after the allreduced optimizer step every
// rank holds the same λ and computes the same D. At a check, the ranks still agree with one
// allreduce (MAX) of "my widths change" before entering the surgery, so a rank whose λ
// differed would not skip a collective the others make: all enter, and the surgery's decide
// phase names the disagreement on every rank (SurgeryError) instead of hanging.
//
// Width changes are appended to Trainer::growth_history() (strategy "adaptive", so the
// checkpoint keeps them) and logged as an event line and a metrics JSON object
// {"event":"adaptive", "step", "widths", "old_widths", "rates"}. Test hook:
// SPROUT_TEST_CORRUPT_RANK=R corrupts rank R during every surgery (runtime/surgery/surgery.h).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "growth/adaptive/adaptive.h"
#include "launch/train/progress.h"

namespace sprout::launch {

class Trainer;

class AdaptiveStep {
 public:
  explicit AdaptiveStep(Trainer& trainer);

  // Collective at check steps (every rank calls it at every step).
  void before_step(Progress& progress);
  // Logits with the importances applied (x: (B, C, H, W) -> (B, classes)).
  torch::Tensor forward(const torch::Tensor& x, bool train);
  // −ELBO/N given the batch's mean cross-entropy: ce − (log p(θ) + log p(λ)) / N.
  torch::Tensor objective(const torch::Tensor& ce);
  // Current λ per adaptive site.
  std::map<std::string, double> rates() const;

 private:
  Trainer& trainer_;
};

}  // namespace sprout::launch
