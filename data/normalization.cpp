#include "data/normalization.h"

#include <cmath>

#include "data/dataset.h"
#include "data/idx.h"

namespace sprout::data {

namespace {

// Per-channel (sum, sum of squares) of one chunk, appended to `out` (2·C values).
template <typename T>
void chunk_sums(const torch::Tensor& images, std::vector<double>& out, size_t at) {
  const auto x = images.contiguous();  // (m, C, H, W)
  const int64_t m = x.size(0), c = x.size(1), plane = x.size(2) * x.size(3);
  const T* p = x.data_ptr<T>();
  for (int64_t ch = 0; ch < c; ++ch) {
    double s = 0, ss = 0;
    if constexpr (std::is_same_v<T, uint8_t>) {
      int64_t si = 0, ssi = 0;  // exact
      for (int64_t i = 0; i < m; ++i) {
        const T* q = p + (i * c + ch) * plane;
        for (int64_t k = 0; k < plane; ++k) si += q[k], ssi += int64_t{q[k]} * q[k];
      }
      s = static_cast<double>(si), ss = static_cast<double>(ssi);
    } else {
      for (int64_t i = 0; i < m; ++i) {
        const T* q = p + (i * c + ch) * plane;
        for (int64_t k = 0; k < plane; ++k) {
          const double v = q[k];
          s += v, ss += v * v;
        }
      }
    }
    out[at + 2 * ch] += s;
    out[at + 2 * ch + 1] += ss;
  }
}

}  // namespace

Normalization compute_normalization(const Dataset& train, int rank, int world, const SumOverRanks& sum) {
  const int64_t n = train.size();
  if (n == 0) throw DataError("normalisation: the training split is empty");
  const auto shape = train.image_shape();
  const int64_t c = shape[0], plane = shape[1] * shape[2];
  const bool bytes = train.image_dtype() == torch::kUInt8;
  const int64_t chunks = (n + kMomentChunk - 1) / kMomentChunk;
  std::vector<double> partial(static_cast<size_t>(chunks * c * 2), 0.0);
  for (int64_t k = rank; k < chunks; k += world) {
    const int64_t start = k * kMomentChunk, count = std::min(kMomentChunk, n - start);
    const auto images = train.range(start, count);  // (count, C, H, W)
    const size_t at = static_cast<size_t>(k * c * 2);
    if (bytes) chunk_sums<uint8_t>(images, partial, at);
    else chunk_sums<float>(images, partial, at);
  }
  if (world > 1) sum(partial);

  Normalization norm;
  const long double count = static_cast<long double>(n) * plane;
  for (int64_t ch = 0; ch < c; ++ch) {
    long double mean = 0, var = 0;
    if (bytes) {  // exact integer sums: var·cnt·(cnt−1) = cnt·SS − S²
      __int128 s = 0, ss = 0;
      for (int64_t k = 0; k < chunks; ++k) {
        s += static_cast<__int128>(partial[(k * c + ch) * 2]);
        ss += static_cast<__int128>(partial[(k * c + ch) * 2 + 1]);
      }
      const __int128 cnt = static_cast<__int128>(n) * plane;
      mean = static_cast<long double>(s) / count / 255.0L;
      var = count > 1 ? static_cast<long double>(cnt * ss - s * s) / (count * (count - 1)) / (255.0L * 255.0L) : 0;
    } else {
      long double s = 0, ss = 0;
      for (int64_t k = 0; k < chunks; ++k) s += partial[(k * c + ch) * 2], ss += partial[(k * c + ch) * 2 + 1];
      mean = s / count;
      var = count > 1 ? (ss - s * s / count) / (count - 1) : 0;
    }
    const double sd = std::sqrt(static_cast<double>(std::max<long double>(var, 0)));
    norm.mean.push_back(static_cast<double>(mean));
    norm.stddev.push_back(sd > 0 ? sd : 1.0);  // a constant channel: centred, not scaled
  }
  return norm;
}

torch::Tensor to_input(const torch::Tensor& images, const Normalization& norm) {
  TORCH_CHECK(norm.known(), "to_input: normalisation not computed");
  auto x = images.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true);  // float32 images: not in place
  if (images.scalar_type() == torch::kUInt8) x.div_(255.0);
  if (norm.mean.size() == 1) return x.sub_(norm.mean[0]).div_(norm.stddev[0]);
  const int64_t c = static_cast<int64_t>(norm.mean.size());
  auto mean = torch::tensor(norm.mean, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1}).to(x.device());
  auto sd = torch::tensor(norm.stddev, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1}).to(x.device());
  return x.sub_(mean).div_(sd);
}

torch::Tensor to_input(const torch::Tensor& images, double mean, double stddev) {
  return images.to(torch::kFloat32).div_(255.0).sub_(mean).div_(stddev);
}

}  // namespace sprout::data
