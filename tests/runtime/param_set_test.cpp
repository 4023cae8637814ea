// ParamSet's bound tensors (Note [Bound tensors] in runtime/param_set.h): a module's own
// tensors stay the ones the ParamSet hands out, through replacement and gradients.
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include "runtime/error.h"
#include "runtime/param_set.h"

namespace sprout::runtime {
namespace {

TEST(ParamSet, AddedParametersAreDetachedCopiesBoundOnesAreTheModulesOwn) {
  torch::nn::Linear lin(3, 2);
  ParamSet added, bound;
  added.add_parameter("weight", lin->weight);
  bound.bind_parameter("weight", lin->weight);
  EXPECT_FALSE(added.parameter("weight").is_same(lin->weight));
  EXPECT_TRUE(bound.parameter("weight").is_same(lin->weight));
  EXPECT_TRUE(bound.is_bound("weight"));
  EXPECT_FALSE(added.is_bound("weight"));

  // The module's forward reaches the bound tensor's gradient, not the added copy's.
  lin->forward(torch::ones({4, 3})).sum().backward();
  EXPECT_TRUE(bound.parameter("weight").grad().defined());
  EXPECT_FALSE(added.parameter("weight").grad().defined());
}

TEST(ParamSet, ReplacingABoundParameterKeepsTheTensorAndTakesTheNewShape) {
  torch::nn::Linear lin(3, 2);
  ParamSet p;
  p.bind_parameter("weight", lin->weight);
  lin->forward(torch::ones({1, 3})).sum().backward();  // a gradient of the old shape
  const auto version = p.version();
  p.set_parameter("weight", torch::full({5, 3}, 0.5));
  EXPECT_GT(p.version(), version);
  EXPECT_TRUE(p.parameter("weight").is_same(lin->weight));
  EXPECT_EQ(lin->weight.sizes(), torch::IntArrayRef({5, 3}));
  EXPECT_TRUE(lin->weight.eq(0.5).all().item<bool>());
  EXPECT_TRUE(lin->weight.requires_grad());
  EXPECT_TRUE(lin->weight.is_leaf());
  EXPECT_FALSE(lin->weight.grad().defined());  // the old gradient no longer fits
}

TEST(ParamSet, ReplacingABoundBufferReachesTheModule) {
  torch::nn::BatchNorm1d bn(4);
  ParamSet p;
  p.bind_buffer("running_mean", bn->running_mean);
  p.set_buffer("running_mean", torch::full({4}, 3.0));
  EXPECT_TRUE(bn->running_mean.eq(3.0).all().item<bool>());
  EXPECT_TRUE(p.buffer("running_mean").is_same(bn->running_mean));
}

TEST(ParamSet, BindRefusesWhatCannotBeTrainedInPlace) {
  torch::nn::Linear lin(3, 2);
  ParamSet p;
  EXPECT_THROW(p.bind_parameter("doubled", lin->weight * 2), Error);  // not a leaf
  EXPECT_THROW(p.bind_parameter("frozen", torch::zeros({2})), Error);  // needs no grad
  EXPECT_THROW(p.bind_parameter("t", lin->weight.t().detach().requires_grad_()), Error);  // not contiguous
  p.bind_parameter("weight", lin->weight);
  EXPECT_THROW(p.bind_parameter("weight", lin->bias), Error);  // registered twice
}

}  // namespace
}  // namespace sprout::runtime
