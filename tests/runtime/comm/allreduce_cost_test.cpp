// The α–β formulas of runtime/comm/allreduce_cost.h against values worked by hand.
#include <gtest/gtest.h>

#include "runtime/comm/allreduce_cost.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/comm/scattered_hierarchical_allreduce.h"
#include "runtime/error.h"

namespace sprout::runtime {
namespace {

const LinkCost kLink{10e-6, 1e-9};  // 10 µs, 1 GB/s

TEST(AllreduceCost, RingIsTwoTimesNMinusOneLatenciesAndTwoNMinusOneOverNOfTheBytes) {
  // n = 4, 1 MB: 6 · 10 µs + 6/4 · 1e6 B · 1 ns/B = 60 µs + 1.5 ms
  EXPECT_NEAR(ring_allreduce_seconds(4, 1e6, kLink), 60e-6 + 1.5e-3, 1e-12);
  EXPECT_EQ(ring_allreduce_seconds(1, 1e6, kLink), 0);
  EXPECT_NEAR(ring_half_seconds(4, 1e6, kLink), 30e-6 + 0.75e-3, 1e-12);
}

TEST(AllreduceCost, RecursiveDoublingIsLogNWholeMessages) {
  EXPECT_NEAR(recursive_doubling_seconds(8, 1000, kLink), 3 * (10e-6 + 1e-6), 1e-12);
  // 6 ranks: 2 exchanges among 4, plus folding in and handing back.
  EXPECT_NEAR(recursive_doubling_seconds(6, 1000, kLink), 4 * (10e-6 + 1e-6), 1e-12);
}

TEST(AllreduceCost, LeadersUseRecursiveDoublingForSmallAndTheRingForLargeBuckets) {
  EXPECT_EQ(cheaper_leader_algorithm(16, 1024, kLink), LeaderAlgorithm::RecursiveDoubling);
  EXPECT_EQ(cheaper_leader_algorithm(16, 64e6, kLink), LeaderAlgorithm::Ring);
}

TEST(AllreduceCost, HierarchicalWinsOnManyNodesForSmallBucketsAndACrossoverExists) {
  const auto links = default_cluster_links();
  // 64 nodes × 8 ranks: the flat ring pays 1022 latencies between nodes.
  EXPECT_TRUE(hierarchical_is_faster(64, 8, 1 << 20, links));
  const double crossover = hierarchical_crossover_bytes(64, 8, links);
  ASSERT_GT(crossover, 0);
  EXPECT_NE(hierarchical_is_faster(64, 8, crossover, links), hierarchical_is_faster(64, 8, crossover / 2, links));
  // One node: nothing to gain from leaders (reduce + broadcast cost more than the ring).
  EXPECT_FALSE(hierarchical_is_faster(1, 4, 1 << 20, links));
}

TEST(AllreduceCost, AutoFollowsTheGivenLinksPerBucket) {
  // 2 nodes × 2: flat ring 6α_b + 1.5β_b·b against hierarchical 2(α_n + β_n·b) + (α_b + β_b·b)
  // (recursive doubling between the 2 leaders): 1 ms between nodes, 1 ns/B on both links.
  ClusterLinks slow;
  slow.node = {1e-6, 1e-9};
  slow.between = {1e-3, 1e-9};
  const double cross = (5 * 1e-3 - 2 * 1e-6) / (1e-9 + 2e-9 - 1.5e-9);  // ≈ 3.33 MB
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, cross / 2, slow), BucketPath::Hierarchical);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, cross * 2, slow), BucketPath::Ring);
  // A fast network: the ring from 64 KiB on, MPI's collective below, whatever the nodes.
  ClusterLinks fast = slow;
  fast.between = {1e-6, 1e-10};
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, cross / 2, fast), BucketPath::Ring);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, 1024, fast), BucketPath::Hierarchical)
      << "tiny buckets: hierarchical's 3 latencies beat the ring's 6";
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 1, 4, 1024, slow), BucketPath::Collective) << "one node";
  // The explicit algorithms ignore the links.
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Ring, 4, 2, 2, 1024, slow), BucketPath::Ring);
}

TEST(AllreduceCost, TheReduceScatterStageMovesAnLthOfTheBucketPerMessage) {
  ClusterLinks links;
  links.node = {1e-6, 1e-9};
  links.between = {1e-5, 1e-9};
  // 2 nodes × 4 ranks, 4 MB: inside 2·3·(1 µs + 1 ms) = 6.006 ms; between, 1 MB chunks over
  // 2 nodes: recursive doubling 10 µs + 1 ms (the ring: 2·(10 µs + 0.5 ms)).
  EXPECT_NEAR(scattered_hierarchical_seconds(2, 4, 4e6, links), 6.006e-3 + 1.01e-3, 1e-12);
  // The leader-based one moves whole buckets: 2·3·(1 µs + 4 ms) + (10 µs + 4 ms).
  EXPECT_NEAR(hierarchical_seconds(2, 4, 4e6, links), 24.006e-3 + 4.01e-3, 1e-12);
  EXPECT_EQ(scattered_hierarchical_seconds(1, 1, 4e6, links), 0);
}

TEST(AllreduceCost, ParsesTheOptionAndNamesABadValue) {
  EXPECT_EQ(parse_allreduce_algorithm("hierarchical", "runtime.allreduce"), AllreduceAlgorithm::Hierarchical);
  try {
    parse_allreduce_algorithm("tree", "runtime.allreduce");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("runtime.allreduce"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'tree'"), std::string::npos);
  }
}

}  // namespace
}  // namespace sprout::runtime
