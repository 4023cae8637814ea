#include "runtime/tensor_util.h"

#include <cstring>
#include <sstream>

namespace sprout::runtime {

torch::Tensor resize_keep(const torch::Tensor& old, torch::IntArrayRef shape, double fill) {
  auto out = torch::full(shape, fill, old.options().requires_grad(false));
  if (old.dim() != static_cast<int64_t>(shape.size()) || old.numel() == 0) return out;
  auto src = old.detach();
  auto dst = out;
  for (int64_t d = 0; d < old.dim(); ++d) {
    const int64_t n = std::min(old.size(d), shape[d]);
    src = src.narrow(d, 0, n);
    dst = dst.narrow(d, 0, n);
  }
  dst.copy_(src);
  return out;
}

uint64_t tensor_hash(const torch::Tensor& t) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  };
  const int64_t dtype = static_cast<int64_t>(t.scalar_type());
  mix(reinterpret_cast<const uint8_t*>(&dtype), sizeof(dtype));
  for (auto d : t.sizes()) mix(reinterpret_cast<const uint8_t*>(&d), sizeof(d));
  auto c = t.detach().to(torch::kCPU).contiguous();
  const auto* bytes = static_cast<const uint8_t*>(c.data_ptr());
  const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
  // Word-at-a-time FNV variant: fast enough to fingerprint every parameter at each surgery.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    h = (h ^ w) * 1099511628211ULL;
  }
  mix(bytes + i, n - i);
  return h;
}

std::string shape_string(torch::IntArrayRef shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

}  // namespace sprout::runtime
