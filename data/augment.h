// Training-time augmentation (data.augment): random crop from the image padded by 4 pixels
// of zeros on every side, then a horizontal flip with probability 1/2 (the CIFAR recipe).
//
// Deterministic: example i of epoch e is cropped and flipped the same way whatever the
// number of ranks or the rank that draws it, from (seed, epoch, i) alone, so a run
// restored on another world size sees the same augmented examples.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace sprout::data {

inline constexpr int64_t kCropPadding = 4;

// images (B, C, H, W), uint8 or float32, of examples `indices` (int64, B) -> the same
// shape and dtype, each randomly cropped and flipped.
torch::Tensor crop_flip(const torch::Tensor& images, const torch::Tensor& indices, uint64_t seed, int64_t epoch);

}  // namespace sprout::data
