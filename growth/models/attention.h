// Multi-head self-attention's core on head-major q, k, v rows (growth/models/vit.cpp):
//
//   qkv (N, T, H·3·d): head h's q, k, v are the columns [3hd, 3hd + d), [3hd + d, 3hd + 2d),
//                      [3hd + 2d, 3(h+1)d)
//   y   (N, T, H·d):   head h's softmax(q kᵀ / sqrt(d)) v at the columns [hd, (h+1)d)
//
// attention_core() computes it as one autograd node on CPU float32/float64 tensors: loops
// over the N·H (T×T) problems that read q, k, v in place in qkv and write y in proj's
// layout. The composite of ATen ops (attention_core_reference) spends most of a small
// Transformer's step around these products: permute and reshape copies, a batched matmul
// that dispatches one tiny matrix product per (example, head), a separate scaling and
// softmax, and as many steps again backward. Elsewhere (CUDA, bf16 under autocast, other
// dtypes) attention_core() is the reference itself. Gradients with create_graph (a second
// derivative) go through the reference too, so they stay differentiable.
#pragma once

#include <torch/types.h>

namespace sprout::growth {

// qkv: (N, T, H·3·head_dim) as above; returns y (N, T, H·head_dim).
torch::Tensor attention_core(const torch::Tensor& qkv, int64_t head_dim);

// The same function written with ATen ops (the definition the fused kernel is tested against).
torch::Tensor attention_core_reference(const torch::Tensor& qkv, int64_t head_dim);

}  // namespace sprout::growth
