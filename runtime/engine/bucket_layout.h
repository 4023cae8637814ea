// BucketLayout: which parameter's gradient lives where in the flat buffers that the
// data-parallel engine reduces with one collective each.
//
// Buckets are filled in reverse registration order — the order backward produces
// gradients — so a bucket is complete early and its allreduce can overlap the rest of
// backward. A bucket closes before it would exceed its byte cap; the first bucket has a
// smaller cap (as in PyTorch DDP: 1 MiB, then 25 MiB) so communication starts early.
// A tensor larger than the cap gets a bucket of its own. Each bucket holds one dtype.
// Every parameter appears in exactly one slot of one bucket.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace sprout::runtime {

class BucketLayout {
 public:
  struct Slot {
    size_t param;    // index in the ParamSet
    int64_t offset;  // element offset within the bucket
    int64_t numel;
  };
  struct Bucket {
    torch::ScalarType dtype = torch::kFloat32;
    int64_t numel = 0;
    std::vector<Slot> slots;
  };

  BucketLayout() = default;
  // `params` in registration order; caps in bytes.
  static BucketLayout build(const std::vector<torch::Tensor>& params, size_t cap_bytes,
                            size_t first_cap_bytes);

  const std::vector<Bucket>& buckets() const { return buckets_; }
  // (bucket index, slot index) of parameter `param`.
  std::pair<size_t, size_t> locate(size_t param) const { return where_.at(param); }
  size_t num_params() const { return where_.size(); }

 private:
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;
};

}  // namespace sprout::runtime
