// Depth candidates of automatic growth (growth/auto_depth.h): a block's score is what the
// block then receives — the bound equals the squared gradient norm, measured by autograd,
// of the zero-started fan-in of a GradMax block with unit-norm fan-out columns — and its
// size and cost are those of the model built with the block.
#include "growth/auto_depth.h"

#include <gtest/gtest.h>

#include <cmath>

#include "growth/depth.h"
#include "growth/models/depth_family.h"
#include "growth/models/family.h"
#include "growth_test_util.h"

namespace sprout::growth {
namespace {

using sprout::testing::LoneCommunicator;

std::vector<AddedBlock> deepen_by_gradmax(Model& m, const std::string& place, const GrowthBatch& batch) {
  LoneCommunicator comm;
  runtime::SurgeryOptions so;
  so.context = "test auto depth " + place;
  runtime::Surgery surgery(comm, m.params(), nullptr, so);
  StrategyOptions unit;  // fan-out columns of norm 1, as the bound assumes
  unit.scale_mode = "fixed";
  unit.scale = 1.0;
  return grow_depth(surgery, m, place, 1, "gradmax", 0, 99, nullptr, &batch, unit);
}

TEST(AutoDepth, TheBlockBoundIsTheSquaredGradientNormOfItsZeroStartedFanIn) {
  const auto resnet = complete(sprout::testing::resnet_arch()), vit = complete(sprout::testing::vit_arch());
  const std::vector<std::pair<ArchSpec, std::string>> cases{
      {resnet, "stage1"}, {resnet, "stage3"}, {vit, "blocks"}};
  for (const auto& [arch, place] : cases) {
    SCOPED_TRACE(arch.kind + " " + place);
    auto m = sprout::testing::trained_looking_model(arch, 5);
    const auto batch = sprout::testing::random_batch(arch, 12, 9);
    LoneCommunicator comm;
    const double bound = depth_gradmax_bound(comm, *m, place, batch, 99);
    ASSERT_GT(bound, 0);
    const auto blocks = deepen_by_gradmax(*m, place, batch);
    std::vector<std::string> weights;  // the zero-started fan-in: ResNet conv1; ViT qkv and fc1
    for (const auto& n : zero_started(blocks.front(), "gradmax")) {
      if (n.find("weight") != std::string::npos) weights.push_back(n);
    }
    ASSERT_FALSE(weights.empty());
    const double measured = parameters_grad_norm(comm, *m, weights, batch);  // autograd
    // The ResNet block's new bn2 (identity, eps) scales the gradient by 1/sqrt(1 + eps).
    const double bn_sq = arch.kind == "resnet" ? 1.0 / (1.0 + 1e-5) : 1.0;
    EXPECT_NEAR(measured * measured, bn_sq * bound, 1e-4 * bound);
  }
}

TEST(AutoDepth, ABlockIsSizedAndCostedAsTheModelBuiltWithIt) {
  const auto arch = complete(sprout::testing::resnet_arch());
  EXPECT_EQ(depth_candidate_refusal("resnet"), "");
  EXPECT_EQ(depth_candidate_refusal("vit"), "");
  EXPECT_EQ(depth_candidate_places(arch), (std::vector<std::string>{"stage1", "stage2", "stage3"}));
  const auto grown = add_blocks(arch, "stage2", 1).back().arch;
  const auto built = build_model(grown, 1);
  const auto now = model_size(arch), after = model_size(grown);
  EXPECT_EQ(after.params, static_cast<int64_t>(built->params().parameter_numel()));
  ASSERT_GT(after.macs, now.macs);

  auto c = size_depth_candidate(arch, "stage2", {}, CostMeasure::Params);
  EXPECT_EQ(c.name, "stage2");
  EXPECT_EQ(c.kind, "depth");
  EXPECT_EQ(c.width, 1);  // blocks in stage2 before
  EXPECT_EQ(c.add, 1);
  EXPECT_EQ(c.infeasible, "");
  EXPECT_EQ(c.params_after, after.params);
  EXPECT_EQ(c.macs_after, after.macs);
  EXPECT_EQ(c.cost, static_cast<double>(after.params - now.params));
  EXPECT_EQ(size_depth_candidate(arch, "stage2", {}, CostMeasure::Macs).cost, static_cast<double>(after.macs - now.macs));

  // The budget: exactly the grown size fits, one parameter or MAC less does not.
  EXPECT_EQ(size_depth_candidate(arch, "stage2", {after.params, 0}, CostMeasure::Params).add, 1);
  const auto over = size_depth_candidate(arch, "stage2", {after.params - 1, 0}, CostMeasure::Params);
  EXPECT_EQ(over.add, 0);
  EXPECT_EQ(over.infeasible, "budget");
  EXPECT_EQ(size_depth_candidate(arch, "stage2", {0, after.macs - 1}, CostMeasure::Params).add, 0);

  // Scored with the width candidates: bound per cost, the largest feasible one wins.
  std::vector<GrowthCandidate> all{c, over};
  all[0].bound = 3.0;
  all[1].bound = 1e9;  // infeasible: never chosen
  score_candidates(all);
  EXPECT_DOUBLE_EQ(all[0].score, 3.0 / c.cost);
  EXPECT_EQ(all[1].score, 0.0);
  EXPECT_EQ(best_candidate(all), 0);
}

}  // namespace
}  // namespace sprout::growth
