#include "runtime/engine/bucket_layout.h"

#include <map>

namespace sprout::runtime {

BucketLayout BucketLayout::build(const std::vector<torch::Tensor>& params, size_t cap_bytes,
                                 size_t first_cap_bytes) {
  BucketLayout layout;
  layout.where_.assign(params.size(), {0, 0});
  // One open bucket per dtype, so mixed precisions never share a buffer.
  std::map<torch::ScalarType, size_t> open;
  for (size_t k = params.size(); k-- > 0;) {
    const auto& p = params[k];
    const auto dtype = p.scalar_type();
    const size_t bytes = static_cast<size_t>(p.numel()) * p.element_size();
    auto it = open.find(dtype);
    if (it != open.end()) {
      auto& b = layout.buckets_[it->second];
      const size_t cap = it->second == 0 ? first_cap_bytes : cap_bytes;
      const size_t used = static_cast<size_t>(b.numel) * p.element_size();
      if (!b.slots.empty() && used + bytes > cap) open.erase(it);
    }
    it = open.find(dtype);
    if (it == open.end()) {
      layout.buckets_.push_back(Bucket{dtype, 0, {}});
      it = open.emplace(dtype, layout.buckets_.size() - 1).first;
    }
    auto& b = layout.buckets_[it->second];
    layout.where_[k] = {it->second, b.slots.size()};
    b.slots.push_back(Slot{k, b.numel, p.numel()});
    b.numel += p.numel();
  }
  return layout;
}

}  // namespace sprout::runtime
