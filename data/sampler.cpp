#include "data/sampler.h"

#include <numeric>

#include "data/idx.h"
#include "data/random.h"

namespace sprout::data {

DistributedSampler::DistributedSampler(int64_t dataset_size, int rank, int world, int64_t batch,
                                       uint64_t seed)
    : dataset_size_(dataset_size), rank_(rank), world_(world), batch_(batch) {
  if (batch <= 0) throw DataError("train.batch must be > 0");
  if (batch * world > dataset_size) {
    throw DataError("train.batch " + std::to_string(batch) + " x " + std::to_string(world) +
                    " ranks exceeds the " + std::to_string(dataset_size) + " training examples");
  }
  state_.seed = seed;
}

std::vector<int64_t> DistributedSampler::permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  SplitMix64 rng(seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(epoch) * 0xd1b54a32d192ed03ULL + 1);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return p;
}

void DistributedSampler::set_state(const SamplerState& state) {
  if (state.epoch < 0 || state.offset < 0 || state.offset > dataset_size_) {
    throw DataError("sampler state out of range (epoch " + std::to_string(state.epoch) + ", offset " +
                    std::to_string(state.offset) + ")");
  }
  state_ = state;
}

torch::Tensor DistributedSampler::next() {
  const int64_t global = batch_ * world_;
  if (state_.offset + global > dataset_size_) {
    ++state_.epoch;
    state_.offset = 0;
  }
  if (perm_epoch_ != state_.epoch) {
    perm_ = permutation(dataset_size_, state_.seed, state_.epoch);
    perm_epoch_ = state_.epoch;
  }
  auto out = torch::empty({batch_}, torch::kInt64);
  const int64_t start = state_.offset + rank_ * batch_;
  std::copy(perm_.begin() + start, perm_.begin() + start + batch_, out.data_ptr<int64_t>());
  state_.offset += global;
  return out;
}

}  // namespace sprout::data
