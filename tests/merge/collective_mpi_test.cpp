// Node groups and the collective merge, under mpiexec -n 2, 3 and 4: the collective equals
// the offline merge of the same experts (MagMax bit for bit), uses the collectives Note
// [Collective merge scheme] promises and no more, and fails on every rank with one message.
#include <gtest/gtest.h>

#include <map>

#include "growth/models/model.h"
#include "merge/collective.h"
#include "merge/merge.h"
#include "mpi_test_env.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::merge {
namespace {

using runtime::Communicator;
using runtime::ReduceOp;

// Counts the collectives that pass through it (and through communicators split from it).
struct Counts {
  std::map<std::string, int> calls;
  int64_t allgather_elements = 0;
};

class CountingComm final : public Communicator {
 public:
  CountingComm(Communicator& inner, std::shared_ptr<Counts> counts, std::unique_ptr<Communicator> owned = nullptr)
      : inner_(inner), owned_(std::move(owned)), counts_(std::move(counts)) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  std::string backend() const override { return inner_.backend(); }
  void allreduce(torch::Tensor& t, ReduceOp op) override {
    counts_->calls[std::string("allreduce ") + runtime::to_string(op)]++;
    inner_.allreduce(t, op);
  }
  std::shared_ptr<runtime::Work> allreduce_async(torch::Tensor t, ReduceOp op) override {
    counts_->calls[std::string("allreduce ") + runtime::to_string(op)]++;
    return inner_.allreduce_async(t, op);
  }
  void broadcast(torch::Tensor& t, int root) override {
    counts_->calls["broadcast"]++;
    inner_.broadcast(t, root);
  }
  torch::Tensor allgather(const torch::Tensor& t) override {
    counts_->calls["allgather"]++;
    counts_->allgather_elements += t.numel();
    return inner_.allgather(t);
  }
  void barrier() override { inner_.barrier(); }
  std::unique_ptr<Communicator> split(int color, int key) override {
    auto sub = inner_.split(color, key);
    auto& ref = *sub;
    return std::make_unique<CountingComm>(ref, counts_, std::move(sub));
  }
  [[noreturn]] void abort(int code) override { inner_.abort(code); }

 private:
  Communicator& inner_;
  std::unique_ptr<Communicator> owned_;
  std::shared_ptr<Counts> counts_;
};

growth::ArchSpec arch(bool batch_norm) {
  growth::ArchSpec a;
  a.in_height = a.in_width = 5;
  a.set_ints("widths", {24, 12});
  a.set_flag("batch_norm", batch_norm);
  return a;
}

// Expert k of the job: the base moved by a seeded perturbation (every rank can build it).
TensorBundle expert(const TensorBundle& base, int k) {
  TensorBundle out = base;
  torch::manual_seed(1000 + k);
  for (auto& t : out) {
    if (t.role == TensorRole::Counter) t.value = torch::full_like(t.value, 10 + 7 * k % 5);
    else t.value = t.value + 0.1 * torch::randn_like(t.value);
  }
  // Plant exact MagMax ties between experts 0 and 1 (τ = +0.25 vs −0.25).
  if (k <= 1) {
    auto w = out[0].value.view({-1});
    auto b = base[0].value.view({-1});
    for (int p = 0; p < 4; ++p) w[p] = b[p] + (k == 0 ? 0.25 : -0.25) * (p % 2 ? 1 : -1);
  }
  return out;
}

// Which experts group g holds when there are `groups` groups: group g holds {1, 2, 0, 1}[g % 4]
// of them — one, several, or none (a group without a task this round) — numbered in
// group order.
std::vector<int> experts_of(int g, int groups) {
  static const int kHeld[] = {1, 2, 0, 1};
  std::vector<int> out;
  int next = 0;
  for (int h = 0; h < groups; ++h) {
    for (int j = 0; j < kHeld[h % 4]; ++j, ++next) {
      if (h == g) out.push_back(next);
    }
  }
  return out;
}

uint64_t bundle_hash(const TensorBundle& b) {
  uint64_t h = 0;
  for (const auto& t : b) h = h * 31 + runtime::tensor_hash(t.value);
  return h;
}

// Every rank holds the same value.
void expect_same_everywhere(Communicator& comm, uint64_t value) {
  auto all = comm.allgather(torch::tensor({static_cast<int64_t>(value)}, torch::kInt64));
  for (int r = 0; r < comm.size(); ++r) EXPECT_EQ(all[r].item<int64_t>(), static_cast<int64_t>(value)) << "rank " << r;
}

TEST(NodeGroups, DisjointAndCoverTheWorld) {
  auto& world = testing::world();
  const int w = world.size();
  for (int count = 1; count <= w; ++count) {
    NodeGroups g = split_node_groups(world, count);
    EXPECT_EQ(g.count, count);
    EXPECT_EQ(g.index, node_group_of(world.rank(), w, count));
    // (group, rank in group, group size, leaders rank or -1) of every rank.
    auto mine = torch::tensor({static_cast<int64_t>(g.index), static_cast<int64_t>(g.group->rank()),
                               static_cast<int64_t>(g.group->size()),
                               static_cast<int64_t>(g.leaders ? g.leaders->rank() : -1)},
                              torch::kInt64);
    auto all = world.allgather(mine);  // (w, 4)
    std::vector<int> size_of(count, 0);
    int prev_group = 0;
    for (int r = 0; r < w; ++r) {
      const int grp = static_cast<int>(all[r][0].item<int64_t>());
      ASSERT_GE(grp, 0);
      ASSERT_LT(grp, count);
      EXPECT_GE(grp, prev_group) << "groups are runs of consecutive ranks";
      if (grp != prev_group) EXPECT_EQ(r, node_group_first_rank(grp, w, count));
      prev_group = grp;
      EXPECT_EQ(all[r][1].item<int64_t>(), size_of[grp]) << "rank " << r << " is its group's rank " << size_of[grp];
      const bool leader = size_of[grp] == 0;
      EXPECT_EQ(all[r][3].item<int64_t>(), leader ? grp : -1) << "rank " << r;
      size_of[grp]++;
    }
    int covered = 0;
    for (int grp = 0; grp < count; ++grp) {
      EXPECT_GE(size_of[grp], w / count);
      EXPECT_LE(size_of[grp], w / count + 1);
      covered += size_of[grp];
    }
    EXPECT_EQ(covered, w);
    for (int r = 0; r < w; ++r) EXPECT_EQ(all[r][2].item<int64_t>(), size_of[all[r][0].item<int64_t>()]);
    if (g.leaders) EXPECT_EQ(g.leaders->size(), count);
  }
}

TEST(NodeGroups, BadCountIsAConfigErrorOnEveryRank) {
  auto& world = testing::world();
  EXPECT_THROW(split_node_groups(world, 0), ConfigError);
  EXPECT_THROW(split_node_groups(world, world.size() + 1), ConfigError);
  world.barrier();  // nobody was left inside a collective
}

TEST(CollectiveMerge, EqualsOfflineMergeMagMaxBitForBit) {
  auto& world = testing::world();
  for (bool bn : {false, true}) {
    const auto base = bundle_from(growth::build_model(arch(bn), 3)->params());
    for (int count = 1; count <= world.size(); ++count) {
      NodeGroups g = split_node_groups(world, count);
      std::vector<TensorBundle> local, all;
      for (int k : experts_of(g.index, count)) local.push_back(expert(base, k));
      for (int h = 0; h < count; ++h) {
        for (int k : experts_of(h, count)) all.push_back(expert(base, k));
      }
      for (const auto& name : merge_method_names()) {
        const auto m = make_merge_method(name);
        const auto got = collective_merge(g, *m, base, local, MergeOptions{});
        const auto want = merge_bundles(*m, base, all, MergeOptions{});
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          const bool selects = name == "magmax" || name == "random" || name == "task_specific";
          if (selects || got[i].role == TensorRole::Counter || all.size() <= 2) {
            EXPECT_TRUE(at::equal(got[i].value, want[i].value))
                << name << " " << got[i].name << " groups " << count << " bn " << bn;
          } else {  // sums: the order of additions differs
            EXPECT_TRUE(at::allclose(got[i].value, want[i].value, 1e-6, 1e-7)) << name << " " << got[i].name;
          }
        }
        expect_same_everywhere(world, bundle_hash(got));
      }
    }
  }
}

TEST(CollectiveMerge, UsesExactlyTheAdvertisedCollectives) {
  auto counts = std::make_shared<Counts>();
  CountingComm world(testing::world(), counts);
  const int groups = std::min(2, world.size());
  for (bool bn : {false, true}) {
    const auto base = bundle_from(growth::build_model(arch(bn), 3)->params());
    NodeGroups g = split_node_groups(world, groups);
    const std::vector<TensorBundle> local = {expert(base, g.index)};
    const std::map<std::string, std::map<std::string, int>> want = {
        {"magmax", {{"allreduce max", 1}, {"allreduce min", 1}}},
        {"average", {{"allreduce sum", 1}}},
        {"task_arithmetic", {{"allreduce sum", 1}}},
        {"ties", {{"allreduce sum", 2}}},
        {"soft_magmax", {{"allreduce max", 1}, {"allreduce sum", 1}}},
        {"random", {{"allreduce sum", 1}}},
        {"task_specific", {{"allreduce sum", 1}}},
    };
    for (const auto& [name, reductions] : want) {
      counts->calls.clear();
      counts->allgather_elements = 0;
      collective_merge(g, *make_merge_method(name), base, local, MergeOptions{});
      auto expected = reductions;
      if (g.leader()) {
        expected["allgather"] = 1;  // the agreement: 4 integers per leader, never an expert
        if (bn) {
          expected["allreduce sum"] += 1;  // statistics
          expected["allreduce max"] += 1;  // counters
        }
      } else {
        expected.clear();
      }
      std::map<std::string, int> got;
      for (const auto& [k, v] : counts->calls) {
        if (k != "broadcast" && v) got[k] = v;
      }
      EXPECT_EQ(got, expected) << name << " bn " << bn << " rank " << world.rank();
      EXPECT_EQ(counts->allgather_elements, g.leader() ? 4 : 0);
      // In the group: a status, then one broadcast per dtype (float32, and int64 with bn).
      EXPECT_EQ(counts->calls["broadcast"], 1 + (bn ? 2 : 1)) << name;
    }
  }
}

std::string merge_error(const NodeGroups& g, const std::string& method, const TensorBundle& base,
                        const std::vector<TensorBundle>& local, MergeOptions o = {}) {
  try {
    collective_merge(g, *make_merge_method(method), base, local, o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CollectiveMerge, BadInputFailsOnEveryRankWithOneMessage) {
  auto& world = testing::world();
  const int groups = std::min(2, world.size());
  NodeGroups g = split_node_groups(world, groups);
  const auto base = bundle_from(growth::build_model(arch(false), 3)->params());
  const auto last = groups - 1;

  // The last group's expert has another architecture.
  auto other = bundle_from(growth::build_model([] { auto a = arch(false); a.set_ints("widths", {20, 12}); return a; }(), 3)->params());
  auto msg = merge_error(g, "magmax", base, {g.index == last ? other : expert(base, g.index)});
  EXPECT_NE(msg.find("merge magmax: node group " + std::to_string(last)), std::string::npos) << msg;
  if (g.index == last) EXPECT_NE(msg.find("has shape [20, 25], the base has [24, 25]"), std::string::npos) << msg;

  // A missing tensor.
  auto missing = expert(base, 0);
  missing.pop_back();
  msg = merge_error(g, "ties", base, {g.index == last ? missing : expert(base, g.index)});
  EXPECT_NE(msg.find("node group " + std::to_string(last)), std::string::npos) << msg;

  // NaN in one group's expert.
  auto nan = expert(base, 1);
  nan[0].value.view({-1})[3] = NAN;
  msg = merge_error(g, "average", base, {g.index == last ? nan : expert(base, g.index)});
  EXPECT_NE(msg.find("NaN or infinite"), std::string::npos) << msg;

  // λ not finite, everywhere.
  MergeOptions o;
  o.lambda = INFINITY;
  msg = merge_error(g, "magmax", base, {expert(base, g.index)}, o);
  EXPECT_NE(msg.find("--lambda: inf is not a finite number"), std::string::npos) << msg;

  // No expert anywhere.
  msg = merge_error(g, "task_arithmetic", base, {});
  EXPECT_NE(msg.find("needs at least one expert"), std::string::npos) << msg;

  // Nobody hangs, and the communicators still work.
  const auto ok = collective_merge(g, *make_merge_method("magmax"), base, {expert(base, g.index)}, {});
  expect_same_everywhere(world, bundle_hash(ok));
}

}  // namespace
}  // namespace sprout::merge
