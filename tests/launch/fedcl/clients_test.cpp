// Virtual clients of `sprout fedcl` without MPI: seeded sampling, the three splits of a
// round's examples, the bytes a client sends, the weighted average's in-memory form, and
// the validation of the client options.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "launch/fedcl/clients.h"
#include "launch/fedcl/config.h"
#include "merge/weighted.h"
#include "runtime/error.h"

namespace sprout::launch {
namespace {

// 10 classes, `per_class` examples each, interleaved like a real training set.
std::vector<int64_t> labels(int64_t per_class) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < 10 * per_class; ++i) out.push_back((i * 7) % 10);
  return out;
}

const std::vector<std::vector<int64_t>> kTasks = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}};

TEST(FedclClients, SamplingIsSeededSortedAndSized) {
  for (double f : {0.01, 0.1, 0.25, 1.0}) {
    const auto s = sample_clients(100, f, 7, 3);
    EXPECT_EQ(s.size(), static_cast<size_t>(std::max(1L, std::lround(f * 100))));
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    EXPECT_EQ(std::set<int>(s.begin(), s.end()).size(), s.size()) << "without replacement";
    for (int c : s) EXPECT_TRUE(c >= 0 && c < 100);
    EXPECT_EQ(s, sample_clients(100, f, 7, 3)) << "same seed and round, same sample";
  }
  EXPECT_NE(sample_clients(100, 0.1, 7, 3), sample_clients(100, 0.1, 7, 4)) << "rounds differ";
  EXPECT_NE(sample_clients(100, 0.1, 7, 3), sample_clients(100, 0.1, 8, 3)) << "seeds differ";
  // Over many rounds every client is sampled about equally often (10% of 100 over 400 rounds: 40 each).
  std::vector<int> times(100, 0);
  for (int r = 0; r < 400; ++r) {
    for (int c : sample_clients(100, 0.1, 1, r)) ++times[c];
  }
  EXPECT_GT(*std::min_element(times.begin(), times.end()), 15);
  EXPECT_LT(*std::max_element(times.begin(), times.end()), 70);
}

TEST(FedclClients, DealingCoversEverySampledClientOnce) {
  const auto sampled = sample_clients(100, 0.13, 5, 0);
  for (int groups = 1; groups <= 5; ++groups) {
    for (bool home : {false, true}) {
      std::multiset<int> dealt;
      size_t most = 0, least = sampled.size();
      for (int g = 0; g < groups; ++g) {
        const auto mine = clients_of_group(sampled, g, groups, home);
        dealt.insert(mine.begin(), mine.end());
        most = std::max(most, mine.size());
        least = std::min(least, mine.size());
        if (home) {
          for (int c : mine) EXPECT_EQ(c % groups, g) << "a client's state stays with its group";
        }
      }
      EXPECT_EQ(dealt, std::multiset<int>(sampled.begin(), sampled.end())) << groups << " groups";
      if (!home) {
        EXPECT_LE(most - least, 1u) << "balanced dealing";
      }
    }
  }
}

// Every example of the round's classes to exactly one client, nothing else.
void expect_partition_of_round(const RoundSplit& s, const std::vector<int64_t>& y, const std::set<int64_t>& classes,
                               bool exhaustive) {
  std::set<int64_t> seen;
  for (const auto& shard : s.shards) {
    EXPECT_TRUE(std::is_sorted(shard.begin(), shard.end()));
    for (int64_t i : shard) {
      EXPECT_TRUE(seen.insert(i).second) << "example " << i << " held twice";
      EXPECT_TRUE(classes.count(y[i])) << "example of class " << y[i] << " is not of the round";
    }
  }
  if (exhaustive) {
    size_t n = 0;
    for (int64_t v : y) n += classes.count(v);
    EXPECT_EQ(seen.size(), n);
  }
}

TEST(FedclClients, SplitTasksGivesEachTaskToOneClient) {
  const auto y = labels(30);
  const auto s = split_round(y, {2, 3}, kTasks, 2, "tasks", 1.0, 0, 1);
  expect_partition_of_round(s, y, {4, 5, 6, 7}, true);
  EXPECT_EQ(s.task_of_client, (std::vector<int>{2, 3}));
  for (int64_t i : s.shards[0]) EXPECT_TRUE(y[i] == 4 || y[i] == 5);
  EXPECT_EQ(s.shards[0].size(), 60u);
}

TEST(FedclClients, SplitIidIsAnEvenPartition) {
  const auto y = labels(100);
  const auto s = split_round(y, {0}, kTasks, 7, "iid", 1.0, 3, 0);
  expect_partition_of_round(s, y, {0, 1}, true);
  for (const auto& shard : s.shards) EXPECT_TRUE(shard.size() == 28 || shard.size() == 29);
  // One client holds everything, in the training set's order (plain training's data).
  const auto one = split_round(y, {0}, kTasks, 1, "iid", 1.0, 3, 0);
  std::vector<int64_t> expected;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] <= 1) expected.push_back(static_cast<int64_t>(i));
  }
  EXPECT_EQ(one.shards[0], expected);
}

// Mean over clients of the largest class share in the client's shard.
double skew(const RoundSplit& s, const std::vector<int64_t>& y) {
  double sum = 0;
  for (const auto& shard : s.shards) {
    std::map<int64_t, double> n;
    for (int64_t i : shard) n[y[i]] += 1;
    double most = 0;
    for (auto& [k, v] : n) most = std::max(most, v);
    sum += most / static_cast<double>(shard.size());
  }
  return sum / static_cast<double>(s.shards.size());
}

TEST(FedclClients, SplitDirichletSkewFollowsAlpha) {
  const auto y = labels(600);
  std::map<double, double> by_alpha;
  for (double alpha : {0.05, 1.0, 1000.0}) {
    const auto s = split_round(y, {1, 2}, kTasks, 40, "dirichlet", alpha, 11, 2);
    expect_partition_of_round(s, y, {2, 3, 4, 5}, false);
    for (const auto& shard : s.shards) EXPECT_EQ(shard.size(), 2400u / 40);  // ⌊n / clients⌋ each
    by_alpha[alpha] = skew(s, y);
    const auto again = split_round(y, {1, 2}, kTasks, 40, "dirichlet", alpha, 11, 2);
    EXPECT_EQ(split_hash(s), split_hash(again)) << "same seed, same split";
    EXPECT_NE(split_hash(s), split_hash(split_round(y, {1, 2}, kTasks, 40, "dirichlet", alpha, 12, 2)));
  }
  EXPECT_GT(by_alpha[0.05], 0.85) << "small alpha: about one class per client";
  EXPECT_LT(by_alpha[1000.0], 0.35) << "large alpha: about a quarter of each of 4 classes";
  EXPECT_GT(by_alpha[0.05], by_alpha[1.0]);
  EXPECT_GT(by_alpha[1.0], by_alpha[1000.0]);
}

TEST(FedclClients, UploadBytesPerMethod) {
  const std::vector<int64_t> tensors = {1000, 10};
  EXPECT_EQ(upload_bytes("average", tensors, 4, 0.2), 4040);
  EXPECT_EQ(upload_bytes("magmax", tensors, 4, 0.2), 4040);
  // ties: 200 of 1000 and 2 of 10 entries, value + int32 index each.
  EXPECT_EQ(upload_bytes("ties", tensors, 4, 0.2), 200 * 8 + 2 * 8);
  EXPECT_EQ(upload_bytes("ties", tensors, 4, 0.9), 4040) << "never more than dense";
}

TEST(WeightedMerge, SharesScaleTaskVectorsAndOneShareIsExact) {
  merge::TensorBundle base = {{"w", merge::TensorRole::Parameter, torch::tensor({1.0f, 2.0f, 3.0f})}};
  auto a = base, b = base;
  a[0].value = torch::tensor({2.0f, 2.0f, 1.0f});
  b[0].value = torch::tensor({1.0f, 6.0f, 3.0f});
  // weights 3 and 1: θ0 + (3/4)(1, 0, −2) + (1/4)(0, 4, 0)
  const auto m = merge::weighted_average(base, {a, b}, {3, 1});
  EXPECT_TRUE(torch::allclose(m[0].value, torch::tensor({1.75f, 3.0f, 1.5f})));
  const auto one = merge::weight_task_vector(base, a, 1.0);
  EXPECT_TRUE(torch::equal(one[0].value, a[0].value)) << "a share of 1 returns the expert bit for bit";
  const auto half = merge::weight_task_vector(base, a, 0.5);
  EXPECT_TRUE(torch::allclose(half[0].value, torch::tensor({1.5f, 2.0f, 2.0f})));
  EXPECT_THROW(merge::weighted_average(base, {a, b}, {1}), ConfigError);
  EXPECT_THROW(merge::weighted_average(base, {a, b}, {0, 0}), ConfigError);
  EXPECT_THROW(merge::weighted_average(base, {a}, {-1}), ConfigError);
}

std::string config_error(std::vector<std::string> args, int world = 4) {
  args.insert(args.begin(), {"--data.name", "synthetic"});
  try {
    read_fedcl_config(Options::parse(fedcl_option_table(), args), world);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(FedclClientsConfig, BadValuesNameOptionAndValue) {
  EXPECT_EQ(config_error({"--fedcl.sample", "0"}), "--fedcl.sample: 0 must be in (0, 1]");
  EXPECT_EQ(config_error({"--fedcl.sample", "1.5"}), "--fedcl.sample: 1.5 must be in (0, 1]");
  EXPECT_EQ(config_error({"--fedcl.sample", "-0.1"}), "--fedcl.sample: -0.1 must be in (0, 1]");
  EXPECT_EQ(config_error({"--fedcl.alpha", "0"}), "--fedcl.alpha: 0 must be > 0");
  EXPECT_EQ(config_error({"--fedcl.alpha", "-1"}), "--fedcl.alpha: -1 must be > 0");
  EXPECT_EQ(config_error({"--fedcl.nodes", "4", "--fedcl.clients", "3", "--fedcl.split", "iid"}),
            "--fedcl.clients: 3 must be >= fedcl.nodes = 4 (every node group trains a client)");
  EXPECT_EQ(config_error({"--fedcl.split", "shards"}), "--fedcl.split: 'shards' is not one of tasks, iid, dirichlet");
  EXPECT_EQ(config_error({"--fedcl.prox_mu", "-0.01"}), "--fedcl.prox_mu: -0.01 must be >= 0");
  EXPECT_EQ(config_error({"--fedcl.clients", "6"}),
            "--fedcl.clients: 6 must be in [1, fedcl.tasks = 5] (with fedcl.split = tasks every client learns a task)");
  EXPECT_EQ(config_error({"--fedcl.init", "global"}),
            "--fedcl.methods: 'magmax,average,task_arithmetic,ties' must name one method with fedcl.init = global "
            "(every method's clients would start from its own model)");
  EXPECT_EQ(config_error({"--fedcl.init", "global", "--fedcl.methods", "average", "--fedcl.merge_over", "all"}),
            "--fedcl.merge_over: 'all' needs fedcl.init = base or sequential (with global the clients' task vectors "
            "are taken against the round's start, so only one round's can be merged)");
  EXPECT_EQ(config_error({"--fedcl.merge_over", "some"}), "--fedcl.merge_over: 'some' is not one of all, round");
}

TEST(FedclClientsConfig, DefaultsKeepOneClientPerGroupAndFedAvgMergesTheRound) {
  auto c = read_fedcl_config(Options::parse(fedcl_option_table(), {"--data.name", "synthetic", "--fedcl.nodes", "3"}), 3);
  EXPECT_EQ(c.clients, 3);
  EXPECT_EQ(c.merge_over, "all");
  EXPECT_EQ(c.plan.num_rounds(), 2);
  c = read_fedcl_config(Options::parse(fedcl_option_table(),
                                       {"--data.name", "synthetic", "--fedcl.clients", "100", "--fedcl.split",
                                        "dirichlet", "--fedcl.init", "global", "--fedcl.methods", "average"}),
                        4);
  EXPECT_EQ(c.merge_over, "round");
  EXPECT_EQ(c.plan.num_rounds(), 5) << "one task per round by default";
}

}  // namespace
}  // namespace sprout::launch
