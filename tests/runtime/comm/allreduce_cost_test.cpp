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

TEST(AllreduceCost, OnManyNodesAutoLeavesTheRingForSmallBucketsAndASwitchExists) {
  const auto links = default_cluster_links();
  // 64 nodes × 8 ranks: the flat ring pays 1022 latencies between nodes.
  EXPECT_NE(cheapest_allreduce(64, 8, 1 << 20, links), AllreduceAlgorithm::Ring);
  const auto segments = auto_segments(64, 8, links);
  ASSERT_GE(segments.size(), 2u);
  for (size_t i = 1; i < segments.size(); ++i) {
    EXPECT_EQ(cheapest_allreduce(64, 8, segments[i].from_bytes, links), segments[i].algorithm);
    EXPECT_EQ(cheapest_allreduce(64, 8, segments[i].from_bytes / 2, links), segments[i - 1].algorithm);
  }
  // One node, or one rank per node: nothing but the ring.
  EXPECT_EQ(cheapest_allreduce(1, 4, 1 << 20, links), AllreduceAlgorithm::Ring);
  EXPECT_EQ(cheapest_allreduce(8, 1, 1 << 20, links), AllreduceAlgorithm::Ring);
}

TEST(AllreduceCost, AutoTakesTheCheapestOfThreeByHandWorkedCosts) {
  // 2 nodes × 2 ranks, 1 ns/B on both links, 1 µs inside a node, 1 ms between:
  //   flat ring     6·1 ms + 1.5·b ns                      (every hop paced by the slower link)
  //   hierarchical  2·(1 µs + b ns) + (1 ms + b ns)         = 1.002 ms + 3·b ns
  //   scattered     2·(1 µs + b/2 ns) + (1 ms + 2·b/2 ns)   = 1.002 ms + 2·b ns
  //                 (recursive doubling of b/2 between the 2 nodes; 2 streams share the link)
  // scattered beats hierarchical at every size, and the ring from
  // b = (6 − 1.002) ms / 0.5 ns = 9.996 MB on.
  ClusterLinks slow;
  slow.node = {1e-6, 1e-9};
  slow.between = {1e-3, 1e-9};
  EXPECT_NEAR(flat_ring_seconds(2, 2, 1e6, slow), 6e-3 + 1.5e-3, 1e-12);
  EXPECT_NEAR(hierarchical_seconds(2, 2, 1e6, slow), 1.002e-3 + 3e-3, 1e-12);
  EXPECT_NEAR(scattered_hierarchical_seconds(2, 2, 1e6, slow), 1.002e-3 + 2e-3, 1e-12);
  const double cross = (6e-3 - 1.002e-3) / 0.5e-9;
  EXPECT_EQ(cheapest_allreduce(2, 2, cross * 0.99, slow), AllreduceAlgorithm::Scattered);
  EXPECT_EQ(cheapest_allreduce(2, 2, cross * 1.01, slow), AllreduceAlgorithm::Ring);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, cross * 0.99, slow), BucketPath::Scattered);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, cross * 1.01, slow), BucketPath::Ring);
  const auto segments = auto_segments(2, 2, slow);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[1].from_bytes, 16.0 * (1 << 20)) << "the first power of two above 9.996 MB";
  EXPECT_EQ(describe_auto_segments(segments), "scattered below 16 MiB, ring from there on");
  // A network as fast as shared memory (1 µs, 1 ns/B): ring 6 µs + 1.5·b ns, scattered
  // 3 µs + 2·b ns: scattered below 6000 B, then the ring (MPI's collective below 64 KiB).
  ClusterLinks fast = slow;
  fast.between = {1e-6, 1e-9};
  EXPECT_EQ(describe_auto_segments(auto_segments(2, 2, fast)), "scattered below 8 KiB, ring from there on");
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, 1e6, fast), BucketPath::Ring);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, 32768, fast), BucketPath::Collective);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 2, 2, 1024, fast), BucketPath::Scattered)
      << "tiny buckets: scattered's 3 latencies beat the ring's 6";
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Auto, 4, 1, 4, 1024, slow), BucketPath::Collective) << "one node";
  // The explicit algorithms ignore the links.
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Ring, 4, 2, 2, 1024, slow), BucketPath::Ring);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Scattered, 4, 2, 2, 1e9, fast), BucketPath::Scattered);
  EXPECT_EQ(bucket_path(AllreduceAlgorithm::Hierarchical, 4, 2, 2, 1024, slow), BucketPath::Hierarchical);
}

TEST(AllreduceCost, HierarchicalIsNeverCheaperThanScatteredSoAutoNeverTakesIt) {
  // The leader-based hierarchical is dominated: the same latencies as scattered, more bytes.
  ClusterLinks links = default_cluster_links();
  for (int nodes : {2, 16, 128}) {
    for (int per_node : {2, 8}) {
      for (double b = 4; b <= 1e9; b *= 8) {
        EXPECT_LE(scattered_hierarchical_seconds(nodes, per_node, b, links), hierarchical_seconds(nodes, per_node, b, links));
        EXPECT_NE(cheapest_allreduce(nodes, per_node, b, links), AllreduceAlgorithm::Hierarchical);
      }
    }
  }
}

TEST(AllreduceCost, TheReduceScatterStageMovesAnLthOfTheBucketPerMessage) {
  ClusterLinks links;
  links.node = {1e-6, 1e-9};
  links.between = {1e-5, 1e-9};
  // 2 nodes × 4 ranks, 4 MB: inside 2·3·(1 µs + 1 ms) = 6.006 ms; between, 1 MB chunks over
  // 2 nodes, 4 streams sharing the link (4 ns/B each): recursive doubling 10 µs + 4 ms (the
  // ring: 2·(10 µs + 2 ms)).
  EXPECT_NEAR(scattered_hierarchical_seconds(2, 4, 4e6, links), 6.006e-3 + 4.01e-3, 1e-12);
  // The leader-based one moves whole buckets: 2·3·(1 µs + 4 ms) + (10 µs + 4 ms).
  EXPECT_NEAR(hierarchical_seconds(2, 4, 4e6, links), 24.006e-3 + 4.01e-3, 1e-12);
  EXPECT_EQ(scattered_hierarchical_seconds(1, 1, 4e6, links), 0);
  EXPECT_EQ(cheaper_leader_algorithm(2, 1e6, scattered_between_link(4, links)), LeaderAlgorithm::RecursiveDoubling);
}

TEST(AllreduceCost, ParsesTheOptionAndNamesABadValue) {
  EXPECT_EQ(parse_allreduce_algorithm("hierarchical", "runtime.allreduce"), AllreduceAlgorithm::Hierarchical);
  EXPECT_EQ(parse_allreduce_algorithm("scattered", "runtime.allreduce"), AllreduceAlgorithm::Scattered);
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
