// Test helpers of the slimmable tests: a model narrowed to a ratio and built on its own,
// holding the wide model's weights sliced to its shapes — what a slimmed forward must equal.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "growth/models/arch.h"
#include "growth/models/memory_estimate.h"
#include "growth/slimmable/slimmable.h"
#include "runtime/param_set.h"

namespace sprout::growth::slicing {

// Every width group of `given` at ratio r (a ResNet's stages, a ViT's stream and heads too).
inline ArchSpec narrowed(const ArchSpec& given, double r) {
  const ArchSpec s = complete(given);
  std::map<std::string, int64_t> widths;
  for (const auto& [group, width] : group_widths(s)) widths[group] = active_units(width, r);
  return with_site_widths(s, widths);
}

// Model a's weights and ratio-`suffix` statistics, sliced to the narrow model b's shapes (a
// norm whose input is the same at every width, a ResNet's first bn1, has only its own).
inline void copy_sliced(const runtime::ParamSet& a, runtime::ParamSet& b, const std::string& suffix) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < b.num_parameters(); ++i) {
    auto src = a.parameter(b.parameter_name(i));
    for (int64_t d = 0; d < src.dim(); ++d) src = src.narrow(d, 0, b.parameter(i).size(d));
    b.parameter(i).copy_(src);
  }
  for (size_t i = 0; i < b.buffer_names().size(); ++i) {
    const auto& name = b.buffer_names()[i];
    auto src = a.has_buffer(name + suffix) ? a.buffer(name + suffix) : a.buffer(name);
    if (src.dim() == 1) src = src.narrow(0, 0, b.buffers()[i].size(0));
    b.buffers()[i].copy_(src);
  }
}

inline double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace sprout::growth::slicing
