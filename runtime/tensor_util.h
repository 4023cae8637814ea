// Small tensor helpers shared by surgery, optimizers and checkpoints.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace sprout::runtime {

// A tensor of `shape` filled with `fill`, holding `old`'s entries in the region both
// shapes share (leading indices of every dimension). Grows append, shrinks truncate:
// old entries inside the region are copied bit for bit.
torch::Tensor resize_keep(const torch::Tensor& old, torch::IntArrayRef shape, double fill = 0.0);

// 64-bit FNV-1a hash of a tensor's bytes (contiguous CPU copy), dtype and shape included.
uint64_t tensor_hash(const torch::Tensor& t);

// "[256, 784]"
std::string shape_string(torch::IntArrayRef shape);

}  // namespace sprout::runtime
