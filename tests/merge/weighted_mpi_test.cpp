// The weighted average as a collective, under mpiexec -n 2, 3 and 4: experts scaled where
// they are held, then task arithmetic with λ = 1 across node groups (Note [Weighted average
// as task arithmetic]), equals the in-memory weighted_average of the same experts, with
// 0, 1 or several experts per group.
#include <gtest/gtest.h>

#include "growth/models/model.h"
#include "merge/collective.h"
#include "merge/weighted.h"
#include "mpi_test_env.h"

namespace sprout::merge {
namespace {

TensorBundle perturbed(const TensorBundle& base, int k) {
  TensorBundle out = base;
  torch::manual_seed(500 + k);
  for (auto& t : out) t.value = t.value + 0.05 * (k + 1) * torch::randn_like(t.value);
  return out;
}

TEST(WeightedCollective, EqualsInMemoryWeightedAverage) {
  auto& world = testing::world();
  growth::ArchSpec a;
  a.in_height = a.in_width = 5;
  a.set_ints("widths", {16});
  const auto base = bundle_from(growth::build_model(a, 3)->params());
  for (int groups = 1; groups <= world.size(); ++groups) {
    NodeGroups g = split_node_groups(world, groups);
    // Group h holds {2, 0, 3, 1}[h % 4] experts; expert k weighs 10 + 7k (unequal).
    static const int kHeld[] = {2, 0, 3, 1};
    std::vector<TensorBundle> all, local;
    std::vector<double> weights, local_weights;
    for (int h = 0, k = 0; h < groups; ++h) {
      for (int j = 0; j < kHeld[h % 4]; ++j, ++k) {
        all.push_back(perturbed(base, k));
        weights.push_back(10 + 7 * k);
        if (h == g.index) {
          local.push_back(all.back());
          local_weights.push_back(weights.back());
        }
      }
    }
    double total = 0;
    for (double w : weights) total += w;
    std::vector<TensorBundle> scaled;
    for (size_t i = 0; i < local.size(); ++i) scaled.push_back(weight_task_vector(base, local[i], local_weights[i] / total));
    MergeOptions one;
    one.lambda = 1.0;
    const auto got = collective_merge(g, *make_merge_method("task_arithmetic"), base, scaled, one);
    const auto want = weighted_average(base, all, weights);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[i].value, want[i].value, 1e-5, 1e-6)) << got[i].name << ", " << groups << " groups";
    }
    // Not the unweighted mean: the weights matter.
    const auto plain = weighted_average(base, all, std::vector<double>(all.size(), 1.0));
    EXPECT_FALSE(torch::allclose(got[0].value, plain[0].value, 1e-5, 1e-6)) << groups << " groups";
  }
}

}  // namespace
}  // namespace sprout::merge
