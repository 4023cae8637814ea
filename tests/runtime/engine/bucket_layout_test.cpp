#include "runtime/engine/bucket_layout.h"

#include <gtest/gtest.h>

#include <set>

namespace sprout::runtime {
namespace {

TEST(BucketLayout, EveryParameterExactlyOnceInReverseOrderWithinCaps) {
  std::vector<torch::Tensor> params = {torch::zeros({1000}), torch::zeros({10}), torch::zeros({300}),
                                       torch::zeros({5000}), torch::zeros({7})};
  const size_t cap = 1200 * 4, first = 400 * 4;
  auto layout = BucketLayout::build(params, cap, first);
  std::set<size_t> seen;
  std::vector<size_t> order;
  for (size_t b = 0; b < layout.buckets().size(); ++b) {
    const auto& bucket = layout.buckets()[b];
    int64_t offset = 0;
    for (size_t s = 0; s < bucket.slots.size(); ++s) {
      const auto& slot = bucket.slots[s];
      EXPECT_TRUE(seen.insert(slot.param).second);
      EXPECT_EQ(slot.offset, offset);
      EXPECT_EQ(slot.numel, params[slot.param].numel());
      offset += slot.numel;
      order.push_back(slot.param);
      EXPECT_EQ(layout.locate(slot.param), std::make_pair(b, s));
    }
    EXPECT_EQ(bucket.numel, offset);
    const size_t bytes = static_cast<size_t>(bucket.numel) * 4;
    if (bucket.slots.size() > 1) EXPECT_LE(bytes, b == 0 ? first : cap);
  }
  EXPECT_EQ(seen.size(), params.size());
  EXPECT_EQ(order, (std::vector<size_t>{4, 3, 2, 1, 0}));
  // 7 alone would fit the first cap, 5000 does not: bucket 0 = {4}, 1 = {3} (oversized, alone),
  // 2 = {2, 1} (310), then 1000 would exceed 1200 -> bucket 3 = {0}.
  ASSERT_EQ(layout.buckets().size(), 4u);
  EXPECT_EQ(layout.buckets()[2].slots.size(), 2u);
}

TEST(BucketLayout, DtypesNeverShareABucket) {
  std::vector<torch::Tensor> params = {torch::zeros({4}), torch::zeros({4}, torch::kFloat64), torch::zeros({4})};
  auto layout = BucketLayout::build(params, 1 << 20, 1 << 20);
  for (const auto& b : layout.buckets()) {
    for (const auto& s : b.slots) EXPECT_EQ(params[s.param].scalar_type(), b.dtype);
  }
  EXPECT_EQ(layout.buckets().size(), 2u);
}

}  // namespace
}  // namespace sprout::runtime
