// Offline merge: the experts are on this process, whole (merge_bundles) or one tensor at a
// time streamed from files (merge_tensor). Both apply Note [What is merged] tensor by
// tensor, so a streamed merge equals the in-memory one bit for bit.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "merge/method.h"
#include "merge/tensor_bundle.h"

namespace sprout::merge {

// Merges one tensor — the base's value and every expert's — by its role: Parameter with
// `method` at `lambda`, Statistic as the experts' mean, Counter as their maximum. Returns a
// tensor of the base's dtype and shape. ConfigError naming `name` on a shape or dtype
// mismatch or non-finite values.
torch::Tensor merge_tensor(const MergeMethod& method, TensorRole role, const std::string& name,
                           const torch::Tensor& base, const std::vector<torch::Tensor>& experts, double lambda,
                           const MergeOptions& options);

// Merges whole models: checks every expert's layout against the base (ConfigError naming
// the expert and tensor), resolves λ (MergeOptions.lambda or the method's default for
// experts.size() task vectors), then merges tensor by tensor.
TensorBundle merge_bundles(const MergeMethod& method, const TensorBundle& base,
                           const std::vector<TensorBundle>& experts, const MergeOptions& options);

// The rules for the non-parameter roles, shared with the collective merge.
// Statistic: θ_0 + (Σ_i τ_i)/n, i.e. the experts' mean (float64).
TaskVectors::Tensors mean_of_experts(TaskVectors& experts);
// Counter: element-wise maximum of the experts' values (int64).
torch::Tensor max_of_experts(const std::vector<torch::Tensor>& experts);

}  // namespace sprout::merge
