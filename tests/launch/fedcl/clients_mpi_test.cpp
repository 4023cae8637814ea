// Client scheduling of `sprout fedcl` under mpiexec -n 2 and 3: over node groups of the real
// world (1 group up to one per rank), every sampled client is trained by exactly one group
// in every round, and every rank derives the same sample and split.
#include <gtest/gtest.h>

#include "launch/fedcl/clients.h"
#include "merge/collective.h"
#include "mpi_test_env.h"

namespace sprout::launch {
namespace {

TEST(FedclSchedule, EverySampledClientExactlyOncePerRound) {
  auto& world = testing::world();
  const int clients = 23;
  for (int groups = 1; groups <= world.size(); ++groups) {
    merge::NodeGroups g = merge::split_node_groups(world, groups);
    for (bool home : {false, true}) {
      for (double fraction : {0.1, 0.5, 1.0}) {
        for (int round = 0; round < 4; ++round) {
          const auto sampled = sample_clients(clients, fraction, 42, round);
          auto trained = torch::zeros({clients}, torch::kFloat64);
          if (g.leader()) {  // one vote per group: the clients this group trains
            for (int c : clients_of_group(sampled, g.index, groups, home)) trained[c] += 1;
          }
          world.allreduce(trained, runtime::ReduceOp::Sum);
          std::vector<int> expected(clients, 0);
          for (int c : sampled) expected[c] = 1;
          for (int c = 0; c < clients; ++c) {
            EXPECT_EQ(trained[c].item<double>(), expected[c])
                << "client " << c << ", " << groups << " groups, round " << round << ", fraction " << fraction;
          }
        }
      }
    }
  }
}

TEST(FedclSchedule, SameSampleAndSplitOnEveryRank) {
  auto& world = testing::world();
  std::vector<int64_t> labels;
  for (int i = 0; i < 3000; ++i) labels.push_back(i * 3 % 10);
  const std::vector<std::vector<int64_t>> tasks = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}};
  uint64_t h = 0;
  for (int round = 0; round < 5; ++round) {
    for (int c : sample_clients(100, 0.1, 9, round)) h = h * 131 + static_cast<uint64_t>(c);
    h = h * 31 + split_hash(split_round(labels, {round}, tasks, 100, "dirichlet", 0.1, 9, round));
    h = h * 31 + split_hash(split_round(labels, {round}, tasks, 100, "iid", 0.1, 9, round));
  }
  auto all = world.allgather(torch::tensor({static_cast<int64_t>(h)}, torch::kInt64));
  for (int r = 0; r < world.size(); ++r) EXPECT_EQ(all[r].item<int64_t>(), static_cast<int64_t>(h)) << "rank " << r;
}

}  // namespace
}  // namespace sprout::launch
