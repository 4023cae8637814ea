// The synthetic dataset: no files, deterministic, learnable in a few dozen steps.
#include "data/dataset.h"
#include "data/random.h"

namespace sprout::data {

Dataset make_synthetic(int64_t n, uint64_t seed, uint64_t prototype_seed) {
  constexpr int64_t kClasses = 10, kSide = 28, kPixels = kSide * kSide;
  // One prototype per class, shared by both splits (so test examples are learnable).
  SplitMix64 proto_rng(prototype_seed * 7919 + 17);
  std::vector<uint8_t> prototypes(kClasses * kPixels);
  for (auto& p : prototypes) p = static_cast<uint8_t>(proto_rng.below(256));

  SplitMix64 rng(seed * 104729 + 3);
  auto images = torch::empty({n, 1, kSide, kSide}, torch::kUInt8);
  auto labels = torch::empty({n}, torch::kInt64);
  auto* img = images.data_ptr<uint8_t>();
  auto* lab = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = static_cast<int64_t>(rng.below(kClasses));
    lab[i] = c;
    for (int64_t p = 0; p < kPixels; ++p) {
      // 60% prototype, 40% noise.
      const double v = 0.6 * prototypes[c * kPixels + p] + 0.4 * 255.0 * rng.uniform();
      img[i * kPixels + p] = static_cast<uint8_t>(std::min(255.0, v));
    }
  }
  Dataset d;
  d.images = images;
  d.labels = labels;
  return d;
}

}  // namespace sprout::data
