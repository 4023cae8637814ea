// Whole-model merges: the tensor policy (Note [What is merged]), streaming = in memory, and
// layout errors naming the expert and the tensor.
#include <gtest/gtest.h>

#include "growth/models/model.h"
#include "merge/merge.h"
#include "runtime/error.h"
#include "test_util.h"

namespace sprout::merge {
namespace {

growth::ArchSpec small_mlp(std::vector<int64_t> widths = {12, 8}) {
  growth::ArchSpec a;
  a.in_height = a.in_width = 4;
  a.set_ints("widths", std::move(widths));
  a.set_flag("batch_norm", true);
  return a;
}

// The base and experts that moved away from it; their batch-norm buffers differ too.
TensorBundle perturbed(const TensorBundle& base, uint64_t seed, int64_t batches) {
  TensorBundle out = base;
  torch::manual_seed(seed);
  for (auto& t : out) {
    if (t.role == TensorRole::Counter) t.value = torch::full_like(t.value, batches);
    else t.value = t.value + 0.05 * torch::randn_like(t.value);
  }
  return out;
}

TEST(MergeBundles, BundleHasEveryRole) {
  auto model = growth::build_model(small_mlp(), 1);
  const auto b = bundle_from(model->params());
  int roles[3] = {0, 0, 0};
  for (const auto& t : b) roles[static_cast<int>(t.role)]++;
  EXPECT_EQ(roles[0], 3 * 2 + 2 * 2);  // fc1..fc3 weight+bias, bn_fc1/bn_fc2 weight+bias
  EXPECT_EQ(roles[1], 4);              // running mean/var of two batch-norms
  EXPECT_EQ(roles[2], 2);              // num_batches_tracked
}

TEST(MergeBundles, TensorPolicy) {
  auto model = growth::build_model(small_mlp(), 1);
  const auto base = bundle_from(model->params());
  const std::vector<TensorBundle> experts = {perturbed(base, 2, 3), perturbed(base, 3, 10), perturbed(base, 4, 4)};
  for (const auto& name : merge_method_names()) {
    const auto m = make_merge_method(name);
    const auto merged = merge_bundles(*m, base, experts, MergeOptions{});
    ASSERT_EQ(merged.size(), base.size());
    for (size_t i = 0; i < base.size(); ++i) {
      const auto& t = merged[i];
      EXPECT_EQ(t.name, base[i].name);
      EXPECT_EQ(t.value.scalar_type(), base[i].value.scalar_type());
      if (t.role == TensorRole::Counter) {
        // Never averaged (mean would be 5): the maximum.
        EXPECT_EQ(t.value.item<int64_t>(), 10) << name << " " << t.name;
      } else if (t.role == TensorRole::Statistic) {
        const auto mean = (experts[0][i].value.to(torch::kFloat64) + experts[1][i].value.to(torch::kFloat64) +
                           experts[2][i].value.to(torch::kFloat64)) / 3.0;
        EXPECT_TRUE(at::allclose(t.value.to(torch::kFloat64), mean, 1e-6, 1e-7)) << name << " " << t.name;
      } else {
        // Parameters follow the method: compare with merging this tensor alone.
        std::vector<torch::Tensor> values;
        for (const auto& e : experts) values.push_back(e[i].value);
        const double l = resolve_lambda(*m, MergeOptions{}, 3);
        EXPECT_TRUE(at::equal(t.value, merge_tensor(*m, t.role, t.name, base[i].value, values, l, MergeOptions{})));
      }
    }
  }
}

TEST(MergeBundles, StreamingEqualsInMemoryBitForBit) {
  // What `sprout merge` does file by file — one tensor of every expert at a time — gives
  // the in-memory merge's bits.
  auto model = growth::build_model(small_mlp({20, 16}), 7);
  const auto base = bundle_from(model->params());
  const std::vector<TensorBundle> experts = {perturbed(base, 8, 1), perturbed(base, 9, 2)};
  for (const auto& name : merge_method_names()) {
    const auto m = make_merge_method(name);
    const auto whole = merge_bundles(*m, base, experts, MergeOptions{});
    const double l = resolve_lambda(*m, MergeOptions{}, 2);
    for (size_t i = 0; i < base.size(); ++i) {
      const auto one = merge_tensor(*m, base[i].role, base[i].name, base[i].value.clone(),
                                    {experts[0][i].value.clone(), experts[1][i].value.clone()}, l, MergeOptions{});
      EXPECT_TRUE(at::equal(one, whole[i].value)) << name << " " << base[i].name;
    }
  }
}

TEST(MergeBundles, OneExpertWithLambdaOneReturnsIt) {
  auto model = growth::build_model(small_mlp(), 3);
  const auto base = bundle_from(model->params());
  const auto expert = perturbed(base, 5, 17);
  for (const auto& name : {"magmax", "task_arithmetic", "ties"}) {
    MergeOptions o;
    o.lambda = 1.0;
    o.density = 1.0;
    const auto merged = merge_bundles(*make_merge_method(name), base, {expert}, o);
    for (size_t i = 0; i < base.size(); ++i) EXPECT_TRUE(at::equal(merged[i].value, expert[i].value)) << name << " " << base[i].name;
  }
}

TEST(MergeBundles, CopyIntoAModelRoundTrips) {
  auto model = growth::build_model(small_mlp(), 3);
  const auto expert = perturbed(bundle_from(model->params()), 5, 17);
  copy_into(model->params(), expert);
  const auto back = bundle_from(model->params());
  for (size_t i = 0; i < back.size(); ++i) EXPECT_TRUE(at::equal(back[i].value, expert[i].value));
  const auto ps = to_param_set(expert);
  EXPECT_EQ(ps.num_parameters(), model->params().num_parameters());
  EXPECT_EQ(ps.buffers().size(), model->params().buffers().size());
}

using sprout::testing::error_of;

TEST(MergeBundles, RefusesOtherArchitecturesAndMissingTensors) {
  auto m = make_merge_method("magmax");
  const auto base = bundle_from(growth::build_model(small_mlp({12, 8}), 1)->params());
  const auto wider = bundle_from(growth::build_model(small_mlp({16, 8}), 1)->params());
  EXPECT_EQ(error_of([&] { merge_bundles(*m, base, {base, wider}, {}); }),
            "expert 1: tensor fc1.weight has shape [16, 16], the base has [12, 16] (different architectures)");
  auto missing = base;
  missing.pop_back();
  EXPECT_EQ(error_of([&] { merge_bundles(*m, base, {missing}, {}); }),
            "expert 0: tensor bn_fc2.num_batches_tracked is missing");
  auto extra = base;
  extra.push_back({"fc9.weight", TensorRole::Parameter, torch::zeros({2})});
  EXPECT_EQ(error_of([&] { merge_bundles(*m, base, {extra}, {}); }), "expert 0: tensor fc9.weight is not in the base");
  auto renamed = base;
  renamed[0].name = "conv1.weight";
  EXPECT_NE(error_of([&] { merge_bundles(*m, base, {renamed}, {}); }).find("is conv1.weight, the base has fc1.weight"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { merge_bundles(*m, base, {}, {}); }), "a merge needs at least one expert");
  EXPECT_NE(layout_hash(base), layout_hash(wider));
  EXPECT_EQ(layout_hash(base), layout_hash(perturbed(base, 1, 1)));
}

}  // namespace
}  // namespace sprout::merge
