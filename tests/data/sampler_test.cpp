#include "data/sampler.h"

#include <gtest/gtest.h>

#include <set>

#include "data/idx.h"

namespace sprout::data {
namespace {

std::vector<int64_t> as_vec(const torch::Tensor& t) {
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

TEST(Sampler, RanksGetDisjointShardsCoveringTheEpoch) {
  const int64_t n = 1000, batch = 10;
  for (int world : {1, 2, 3, 4}) {
    std::vector<DistributedSampler> samplers;
    for (int r = 0; r < world; ++r) samplers.emplace_back(n, r, world, batch, 42);
    const int64_t steps = samplers[0].batches_per_epoch();
    EXPECT_EQ(steps, n / (batch * world));
    std::set<int64_t> seen;
    std::vector<int64_t> global;
    for (int64_t s = 0; s < steps; ++s) {
      for (int r = 0; r < world; ++r) {
        for (auto i : as_vec(samplers[r].next())) {
          EXPECT_TRUE(seen.insert(i).second) << "index " << i << " drawn twice (world " << world << ")";
          EXPECT_GE(i, 0);
          EXPECT_LT(i, n);
          global.push_back(i);
        }
      }
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), steps * batch * world);
    // The ranks' batches in rank order are the permutation's prefix: what one process
    // with batch B·W would draw.
    const auto perm = DistributedSampler::permutation(n, 42, 0);
    EXPECT_TRUE(std::equal(global.begin(), global.end(), perm.begin()));
  }
}

TEST(Sampler, EpochsDifferAndSeedsMatter) {
  const auto e0 = DistributedSampler::permutation(100, 1, 0);
  const auto e1 = DistributedSampler::permutation(100, 1, 1);
  const auto s2 = DistributedSampler::permutation(100, 2, 0);
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, s2);
  EXPECT_EQ(e0, DistributedSampler::permutation(100, 1, 0));
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(Sampler, RollsOverToTheNextEpochDroppingTheTail) {
  DistributedSampler s(25, 0, 2, 5, 3);  // 2 steps of 10 per epoch, 5 dropped
  s.next();
  s.next();
  EXPECT_EQ(s.state().epoch, 0);
  EXPECT_EQ(s.state().offset, 20);
  const auto first_of_epoch1 = as_vec(s.next());
  EXPECT_EQ(s.state().epoch, 1);
  const auto perm1 = DistributedSampler::permutation(25, 3, 1);
  EXPECT_TRUE(std::equal(first_of_epoch1.begin(), first_of_epoch1.end(), perm1.begin()));
}

TEST(Sampler, StateResumesExactly) {
  DistributedSampler a(500, 1, 2, 8, 9);
  for (int i = 0; i < 40; ++i) a.next();  // crosses an epoch (31 steps per epoch)
  DistributedSampler b(500, 1, 2, 8, 9);
  b.set_state(a.state());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(as_vec(a.next()), as_vec(b.next()));
}

TEST(Sampler, ResumeOnAnotherWorldSizeNeitherRepeatsNorSkips) {
  const int64_t n = 600;
  // 2 ranks × batch 10 for 7 steps, then 3 ranks × batch 10 for the rest of the epoch.
  std::set<int64_t> seen;
  SamplerState state;
  {
    std::vector<DistributedSampler> s;
    for (int r = 0; r < 2; ++r) s.emplace_back(n, r, 2, 10, 5);
    for (int k = 0; k < 7; ++k) {
      for (auto& x : s) {
        for (auto i : as_vec(x.next())) EXPECT_TRUE(seen.insert(i).second);
      }
    }
    state = s[0].state();
  }
  EXPECT_EQ(state.offset, 140);
  std::vector<DistributedSampler> s;
  for (int r = 0; r < 3; ++r) {
    s.emplace_back(n, r, 3, 10, 5);
    s.back().set_state(state);
  }
  while (s[0].state().offset + 30 <= n) {
    for (auto& x : s) {
      for (auto i : as_vec(x.next())) EXPECT_TRUE(seen.insert(i).second) << "repeated example " << i;
    }
  }
  EXPECT_EQ(s[0].state().epoch, 0);
  // 140 + 15·30 = 590: only the 10-example tail of the epoch is left out.
  EXPECT_EQ(seen.size(), 590u);
}

TEST(Sampler, RejectsBatchesLargerThanTheDataset) {
  EXPECT_THROW(DistributedSampler(10, 0, 2, 6, 0), DataError);
  EXPECT_THROW(DistributedSampler(10, 0, 1, 0, 0), DataError);
  DistributedSampler s(10, 0, 1, 2, 0);
  EXPECT_THROW(s.set_state(SamplerState{0, -1, 0}), DataError);
}

}  // namespace
}  // namespace sprout::data
