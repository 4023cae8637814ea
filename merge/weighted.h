// Weighted merging: experts that count for different amounts — FedAvg's average weighted
// by each client's number of training examples (McMahan et al. 2017).
//
// Note [Weighted average as task arithmetic]
// θ = θ_0 + Σ_i (w_i / W) τ_i with W = Σ_i w_i is task arithmetic with λ = 1 over the task
// vectors scaled by w_i / W. Scaling each expert where it is held (weight_task_vector) keeps
// every other part of the merge unchanged: in a collective it is still one Sum allreduce
// whatever the number of experts per process (collective_merge pre-reduces the local
// ones), with the same agreement checks. The scaling is in float64 and rounds once to the
// tensor's dtype; a weight share of exactly 1 returns the expert bit for bit. Statistics and
// counters (Note [What is merged]) are merged as task arithmetic merges them, unweighted.
#pragma once

#include <vector>

#include "merge/tensor_bundle.h"

namespace sprout::merge {

// θ_0 + share·(θ − θ_0) on every Parameter tensor of `expert`; other tensors unchanged.
// ConfigError when the layouts differ or share is not finite.
TensorBundle weight_task_vector(const TensorBundle& base, const TensorBundle& expert, double share);

// The weighted average of `experts` in memory (float64 arithmetic, one rounding per tensor):
// the reference the collective form is checked against. weights.size() == experts.size(),
// each weight >= 0 and their sum > 0, else ConfigError.
TensorBundle weighted_average(const TensorBundle& base, const std::vector<TensorBundle>& experts,
                              const std::vector<double>& weights);

}  // namespace sprout::merge
