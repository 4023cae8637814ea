// Input normalisation: per-channel mean and standard deviation of the training split,
// and the model input made from raw images with them.
//
// Note [Normalisation agreement]
// Every rank must normalise with bitwise the same numbers, and a job restored on another
// number of ranks must too. The training split is therefore cut into fixed chunks of
// kMomentChunk examples, whatever the world size; each chunk's per-channel sums are
// computed by one rank (chunk c by rank c mod W) with a plain sequential loop, the other
// ranks leave zeros in its slot, and one sum over the ranks (x + 0 = x, exactly, in any
// order) gives every rank the same table. The chunks are then combined in chunk order on
// every rank alike. uint8 sums are integers, exact in a double up to 2^53 per chunk, and
// are combined exactly (128-bit integers); float32 sums are rounded, identically on every
// rank. The data layer does not communicate: the caller passes the sum over ranks.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace sprout::data {

struct Dataset;  // data/dataset.h

struct Normalization {
  // Per channel, in the units of the model's pixels: uint8 pixels divided by 255 (so in
  // [0, 1]), float32 pixels as stored.
  std::vector<double> mean, stddev;
  bool known() const { return !mean.empty(); }
};

inline constexpr int64_t kMomentChunk = 4096;

// Sums `values` elementwise over all ranks, in place (an allreduce). Alone: nothing to do.
using SumOverRanks = std::function<void(std::vector<double>& values)>;

// The normalisation of `train` (unbiased standard deviation over every pixel of a
// channel), computed by `world` ranks together (Note [Normalisation agreement]): each
// reads only its chunks. world = 1 with an empty `sum`: alone.
Normalization compute_normalization(const Dataset& train, int rank = 0, int world = 1, const SumOverRanks& sum = {});

// Raw images (N, C, H, W), uint8 or float32 -> float32 model input: the pixel (uint8: /255)
// minus its channel's mean, over its channel's standard deviation.
torch::Tensor to_input(const torch::Tensor& images, const Normalization& norm);
// The same with one mean and deviation for every channel and uint8 scaling.
torch::Tensor to_input(const torch::Tensor& images, double mean, double stddev);

}  // namespace sprout::data
