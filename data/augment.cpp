#include "data/augment.h"

#include "data/random.h"

namespace sprout::data {

torch::Tensor crop_flip(const torch::Tensor& images, const torch::Tensor& indices, uint64_t seed, int64_t epoch) {
  const int64_t b = images.size(0), h = images.size(2), w = images.size(3), p = kCropPadding;
  auto out = torch::zeros_like(images);  // the padding is zeros
  const auto idx = indices.contiguous();
  const int64_t* id = idx.data_ptr<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    SplitMix64 rng(seed * 0x9e3779b97f4a7c15ULL ^ (static_cast<uint64_t>(epoch) * 0xbf58476d1ce4e5b9ULL) ^
                   (static_cast<uint64_t>(id[i]) * 0x94d049bb133111ebULL));
    // The crop's offset in the padded image, in [0, 2p]: shift the image by (dy, dx) = offset − p.
    const int64_t dy = static_cast<int64_t>(rng.below(2 * p + 1)) - p;
    const int64_t dx = static_cast<int64_t>(rng.below(2 * p + 1)) - p;
    const bool flip = rng.below(2) == 1;
    auto src = flip ? images[i].flip({2}) : images[i];  // (C, H, W)
    // out[y][x] = src[y + dy][x + dx] where both lie inside the image.
    const int64_t y0 = std::max<int64_t>(0, -dy), y1 = std::min(h, h - dy);
    const int64_t x0 = std::max<int64_t>(0, -dx), x1 = std::min(w, w - dx);
    if (y1 <= y0 || x1 <= x0) continue;
    out[i].narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).copy_(src.narrow(1, y0 + dy, y1 - y0).narrow(2, x0 + dx, x1 - x0));
  }
  return out;
}

}  // namespace sprout::data
