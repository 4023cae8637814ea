// The DS-Net gate (Li et al. CVPR 2021, "double-headed dynamic gate"; growth/README.md
// "Slimmable networks and the dynamic gate"), on the output h of the first site at k active
// units:
//
//   pooled  = global average pool of h                    (N, k)   (MLP: h itself)
//   reduced = relu(gate.reduce(pooled))                    (N, R)   gate.reduce.weight (R, W) sliced to k columns
//   attention head: h · sigmoid(gate.attention(reduced))   gate.attention.weight (W, R) sliced to k rows
//   width head:     gate.head(reduced)                     (N, K)   logits over the K width ratios
//
// The attention head is squeeze-excitation and runs in every forward when enabled (it is
// trained with the supernet); the width head is trained afterwards with the supernet
// frozen. Parameters live in the model's ParamSet under gate.*, so checkpoints carry
// them; the int64 buffer gate.trained_steps counts the width head's training steps.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "runtime/param_set.h"

namespace sprout::growth {

// Registers gate.reduce.*, gate.head.* (and gate.attention.* when `attention`) and
// gate.trained_steps, with PyTorch's default Linear init drawn from `seed`, on the host
// (runtime::move_to_device places them). Parameters already present are kept (a restored
// model).
void add_gate_parameters(runtime::ParamSet& p, int64_t width, int64_t reduced, int64_t choices, bool attention,
                         uint64_t seed);

// (N, k, H, W) -> (N, k) mean over H·W; (N, k) unchanged.
torch::Tensor gate_pool(const torch::Tensor& h);
// relu(reduce(pooled)) with the reduction's first k input columns: (N, k) -> (N, R).
torch::Tensor gate_reduce(const runtime::ParamSet& p, const torch::Tensor& pooled);
// The SE attention applied to h (N, k[, H, W]): h · sigmoid(attention(reduce(pool(h))))[:k].
torch::Tensor gate_attend(const runtime::ParamSet& p, const torch::Tensor& h);
// Width logits (N, K) from the reduced features.
torch::Tensor gate_head(const runtime::ParamSet& p, const torch::Tensor& reduced);

// Straight-through Gumbel-softmax (Jang et al. 2017), as DS-Net's gate uses it:
// soft = softmax((logits + g)/tau) with g ~ Gumbel(0, 1) drawn from `gen`; hard is the
// one-hot of soft's argmax in the forward and has soft's gradient in the backward.
struct GumbelSample {
  torch::Tensor soft;   // (N, K)
  torch::Tensor hard;   // (N, K) one-hot values, straight-through gradient
  torch::Tensor index;  // int64 (N)
};
GumbelSample gumbel_softmax_hard(const torch::Tensor& logits, double tau, at::Generator& gen);

}  // namespace sprout::growth
