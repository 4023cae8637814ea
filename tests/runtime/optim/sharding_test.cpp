// ShardPlan: every element of the flat parameter space owned by exactly one rank, slices
// within one element of each other; option checks of sharding and clipping.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/error.h"
#include "runtime/optim/optimizer.h"
#include "runtime/optim/sharding.h"

namespace sprout::runtime {
namespace {

TEST(ShardPlan, EveryElementHasExactlyOneOwner) {
  ParamSet p;
  p.add_parameter("a", torch::zeros({7, 5}));
  p.add_parameter("b", torch::zeros({1}));
  p.add_parameter("c", torch::zeros({3, 3, 2}));
  p.add_parameter("d", torch::zeros({4}));
  const int64_t total = 35 + 1 + 18 + 4;
  for (int world = 1; world <= 7; ++world) {
    std::vector<torch::Tensor> owners;
    for (size_t i = 0; i < p.num_parameters(); ++i) owners.push_back(torch::zeros({p.parameter(i).numel()}, torch::kInt64));
    int64_t smallest = total, largest = 0;
    for (int r = 0; r < world; ++r) {
      const auto plan = ShardPlan::of(p, world, r);
      EXPECT_EQ(plan.total(), total);
      int64_t mine = 0;
      for (size_t i = 0; i < p.num_parameters(); ++i) {
        const auto [off, len] = plan.piece(i);
        EXPECT_EQ(plan.piece(i), plan.piece(i, r));
        if (len > 0) owners[i].narrow(0, off, len).add_(1);
        mine += len;
      }
      EXPECT_EQ(mine, plan.owned_numel(r)) << "world " << world << " rank " << r;
      smallest = std::min(smallest, mine);
      largest = std::max(largest, mine);
    }
    for (size_t i = 0; i < owners.size(); ++i) {
      EXPECT_TRUE(owners[i].eq(1).all().item<bool>()) << "world " << world << " parameter " << i;
    }
    EXPECT_LE(largest - smallest, 1) << "world " << world;
  }
}

TEST(ShardPlan, CutDependsOnShapesAndWorld) {
  ParamSet p;
  p.add_parameter("a", torch::zeros({6}));
  p.add_parameter("b", torch::zeros({4}));
  const auto plan = ShardPlan::of(p, 3, 1);
  EXPECT_TRUE(plan.same_cut(ShardPlan::of(p, 3, 1)));
  EXPECT_FALSE(plan.same_cut(ShardPlan::of(p, 2, 1)));
  // world; a: 6 elements, pieces (0,3) (3,3) (0,0); b: 4 elements, pieces (0,0) (0,0) (0,4).
  EXPECT_TRUE(torch::equal(plan.describe(), torch::tensor({3, 6, 0, 3, 3, 3, 0, 0, 4, 0, 0, 0, 0, 0, 4}, torch::kInt64)));
  p.set_parameter("b", torch::zeros({5}));
  EXPECT_FALSE(plan.same_cut(ShardPlan::of(p, 3, 1)));
  p.add_parameter("c", torch::zeros({2}, torch::kFloat64));
  EXPECT_THROW(ShardPlan::of(p, 3, 1), ConfigError);  // two dtypes: no single flat space
}

TEST(ShardPlan, PiecesMustCoverEachParameterOnce) {
  ParamSet p;
  p.add_parameter("a", torch::zeros({6}));
  using Piece = ShardPlan::Piece;
  EXPECT_NO_THROW(ShardPlan::from_pieces(p, 2, 0, {{Piece{4, 2}, Piece{0, 4}}}));
  EXPECT_THROW(ShardPlan::from_pieces(p, 2, 0, {{Piece{0, 4}, Piece{3, 3}}}), Error);  // overlap
  EXPECT_THROW(ShardPlan::from_pieces(p, 2, 0, {{Piece{0, 2}, Piece{3, 3}}}), Error);  // gap
  EXPECT_THROW(ShardPlan::from_pieces(p, 2, 0, {{Piece{0, 6}}}), Error);               // one rank missing
  const auto plan = ShardPlan::from_pieces(p, 2, 1, {{Piece{4, 2}, Piece{0, 4}}});
  EXPECT_EQ(plan.piece(0), (Piece{0, 4}));
  EXPECT_EQ(plan.owned_numel(0), 2);
}

TEST(ShardedOptimizerOptions, BadValuesAreRefused) {
  OptimizerOptions o;
  o.shard = "everything";
  EXPECT_THROW(make_optimizer(o), ConfigError);
  o.shard = "state";
  EXPECT_NO_THROW(make_optimizer(o));
  o.shard = "gradients";
  EXPECT_NO_THROW(make_optimizer(o));
  o.clip_norm = -1;
  EXPECT_THROW(make_optimizer(o), ConfigError);
  o.clip_norm = std::nan("");
  EXPECT_THROW(make_optimizer(o), ConfigError);
  o.clip_norm = 1.5;
  EXPECT_NO_THROW(make_optimizer(o));
}

}  // namespace
}  // namespace sprout::runtime
