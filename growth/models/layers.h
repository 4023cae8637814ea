// Functional layers over ParamSet tensors, with optional slicing to the first
// in/out units (slimmable execution: narrow() views, no copies).
#pragma once

#include <torch/types.h>

#include <limits>
#include <string>

#include "runtime/param_set.h"

namespace sprout::growth {

// clamp_min(x, 0): ReLU whose gradient at 0 is 1. Computed as threshold(x, -d, 0), d the
// dtype's smallest subnormal: the same values (x <= -d -> 0, else x) and the same gradient
// (passes where x >= 0: no float lies strictly between -d and -0), but LibTorch's fused
// threshold backward instead of clamp_min's where(): measured ~15x faster on a CNN's
// activations (Note: assumes denormals are not flushed, LibTorch's default).
inline torch::Tensor activation(const torch::Tensor& x) {
  const double d = x.scalar_type() == torch::kDouble ? std::numeric_limits<double>::denorm_min()
                                                     : std::numeric_limits<float>::denorm_min();
  return at::threshold(x, -d, 0);
}

// LayerNorm over the last dimension (eps 1e-5, as torch.nn).
torch::Tensor layer_norm(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x);
// γ=1, β=0.
void add_layer_norm(runtime::ParamSet& p, const std::string& module, int64_t n);

// y = x W[:out, :in]^T + b[:out].  in/out < 0: full size. `known` (optional): y's first
// k columns, already computed; only units [k, out) are computed and appended.
torch::Tensor linear(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x,
                     int64_t in = -1, int64_t out = -1, const torch::Tensor& known = {});
// 3×3, padding 1. `known`: the first k output channels, as for linear().
torch::Tensor conv3x3(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x,
                      int64_t in = -1, int64_t out = -1, const torch::Tensor& known = {}, int64_t stride = 1);
// 1×1, no padding (a residual shortcut's projection), on the first `in` input and `out`
// output channels (< 0: all).
torch::Tensor conv1x1(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x, int64_t stride,
                      int64_t in = -1, int64_t out = -1);
// Batch norm over dim 1 on the first `n` channels (momentum 0.1, eps 1e-5, as torch.nn).
// `stats`: suffix of the running-statistics buffers (switchable batch-norm; "" = own).
torch::Tensor batch_norm(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x,
                         bool train, int64_t n = -1, const std::string& stats = "");

// Registers module.weight (out, in[, k, k]) and module.bias (out) with PyTorch's default
// init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void add_linear(runtime::ParamSet& p, const std::string& module, int64_t in, int64_t out,
                torch::Generator& gen);
void add_conv3x3(runtime::ParamSet& p, const std::string& module, int64_t in, int64_t out,
                 torch::Generator& gen);
void add_conv(runtime::ParamSet& p, const std::string& module, int64_t in, int64_t out, int64_t kernel,
              torch::Generator& gen);
// γ=1, β=0, running mean 0, running var 1, num_batches_tracked 0.
void add_batch_norm(runtime::ParamSet& p, const std::string& module, int64_t n);

}  // namespace sprout::growth
