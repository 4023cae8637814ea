// DistributedSampler: every rank gets a disjoint shard of one permutation per epoch.
//
// The permutation of epoch e is drawn from (seed, e) by a portable generator, so every
// rank computes the same one without communicating. Step k of an epoch uses the global
// slice perm[k·B·W, (k+1)·B·W); rank r takes its r-th block of B. Every rank therefore
// draws the same number of batches, the ranks' batches are disjoint, and their
// concatenation in rank order is the global batch (what a single process with batch B·W
// would see). The incomplete tail of an epoch (< B·W examples) is dropped.
//
// The state is (epoch, offset) where offset counts the examples the whole job consumed
// in the epoch. It does not depend on the world size, so a job restored on a different
// number of ranks continues the interrupted epoch from the same example onwards: no
// example is repeated and none is skipped, apart from the dropped tail.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace sprout::data {

struct SamplerState {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t offset = 0;  // examples consumed by all ranks in this epoch
};

class DistributedSampler {
 public:
  // Throws DataError if one global batch does not fit in the dataset.
  DistributedSampler(int64_t dataset_size, int rank, int world, int64_t batch, uint64_t seed);

  // This rank's indices for the next step (int64, size batch); advances the state.
  torch::Tensor next();
  int64_t batches_per_epoch() const { return dataset_size_ / (batch_ * world_); }

  SamplerState state() const { return state_; }
  void set_state(const SamplerState& state);

  // The permutation of [0, n) for (seed, epoch).
  static std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch);

 private:
  int64_t dataset_size_;
  int rank_, world_;
  int64_t batch_;
  SamplerState state_;
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;
};

}  // namespace sprout::data
