// TensorBundle: a model's tensors as a merge sees them — named, in a fixed order, each with
// the role that decides how it is merged (Note [What is merged]).
//
// Note [What is merged]
// Every tensor of a model is merged; its role picks the rule:
//  - Parameter (every trainable tensor, the classification head included — sprout's models
//    train their heads, unlike the MagMax paper's frozen zero-shot heads): the merge method,
//    on task vectors τ_i = θ_i − θ_0.
//  - Statistic (floating buffers: batch-norm running mean and variance): the mean of the
//    experts' values. Statistics are not task vectors — scaling a variance by λ or taking
//    the element of largest change would describe no data at all; the mean describes the
//    union of the experts' data (up to the spread of their means).
//  - Counter (integer buffers: num_batches_tracked): the maximum over experts, never an
//    average (the MagMax code skips integer tensors and keeps the base's value; the maximum
//    also returns a single expert unchanged).
// The rules live in merge/merge.h (offline) and merge/collective.h (across node groups).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/param_set.h"

namespace sprout::merge {

enum class TensorRole { Parameter, Statistic, Counter };

const char* to_string(TensorRole role);

struct NamedTensor {
  std::string name;  // "fc1.weight", "bn_fc1.running_mean"
  TensorRole role = TensorRole::Parameter;
  torch::Tensor value;
};

using TensorBundle = std::vector<NamedTensor>;

// The role of a buffer: floating -> Statistic, integer -> Counter.
TensorRole buffer_role(const torch::Tensor& buffer);

// Detached copies of every parameter (registration order) then every buffer.
TensorBundle bundle_from(const runtime::ParamSet& params);
// A ParamSet holding the bundle's tensors (parameters as parameters, the rest as buffers).
runtime::ParamSet to_param_set(const TensorBundle& bundle);
// Copies the bundle's values into `params` in place (same names, dtypes and shapes, else
// ConfigError naming the tensor).
void copy_into(runtime::ParamSet& params, const TensorBundle& bundle);

// Throws ConfigError if `other` does not hold exactly `base`'s tensors — same names in the
// same order, same roles, dtypes and shapes. `what` names `other` in the message
// ("expert 2 (run-b.h5)"), so the user reads e.g.
//   "expert 2: tensor fc1.weight has shape [128, 784], the base has [256, 784]".
void require_same_layout(const TensorBundle& base, const TensorBundle& other, const std::string& what);

// 64-bit hash of the layout (names, roles, dtypes, shapes): equal layouts, equal hashes.
uint64_t layout_hash(const TensorBundle& bundle);

// Concatenates the bundle's values, flattened and converted to `dtype`: (Σ numel).
torch::Tensor flatten(const TensorBundle& bundle, torch::ScalarType dtype);
// Inverse of flatten into `bundle`'s shapes and dtypes (values replaced by copies).
void unflatten_into(const torch::Tensor& flat, TensorBundle& bundle);

}  // namespace sprout::merge
