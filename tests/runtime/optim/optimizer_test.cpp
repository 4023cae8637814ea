#include "runtime/optim/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/error.h"
#include "runtime/optim/lr_schedule.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {
namespace {

ParamSet one_param(torch::Tensor v) {
  ParamSet p;
  p.add_parameter("w", std::move(v));
  return p;
}

TEST(Optimizer, SgdMomentumMatchesTorchFormula) {
  OptimizerOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  auto opt = make_optimizer(o);
  auto params = one_param(torch::tensor({1.0f, -2.0f}));
  auto p = params.parameter("w").detach().clone();
  auto buf = torch::zeros_like(p);
  for (int k = 0; k < 3; ++k) {
    auto g = torch::tensor({0.5f * (k + 1), -0.25f});
    opt->step(params, {g}, 0.1);
    auto d = g + 0.01 * p;
    buf = k == 0 ? d : buf * 0.9 + d;
    p = p - 0.1 * buf;
  }
  EXPECT_TRUE(params.parameter("w").allclose(p, 1e-6, 1e-7));
  EXPECT_TRUE(opt->slots("w").at("momentum_buffer").allclose(buf, 1e-6, 1e-7));
}

TEST(Optimizer, AdamWMatchesTorchFormula) {
  OptimizerOptions o;
  o.name = "adamw";
  o.lr = 0.01;
  o.weight_decay = 0.1;
  auto opt = make_optimizer(o);
  auto params = one_param(torch::tensor({0.3, -0.7}, torch::kFloat64));
  auto p = params.parameter("w").detach().clone();
  auto m = torch::zeros_like(p), v = torch::zeros_like(p);
  for (int t = 1; t <= 4; ++t) {
    auto g = torch::tensor({0.1 * t, -0.3}, torch::kFloat64);
    opt->step(params, {g}, 0.01);
    p = p * (1 - 0.01 * 0.1);
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    auto mhat = m / (1 - std::pow(0.9, t));
    auto vhat = v / (1 - std::pow(0.999, t));
    p = p - 0.01 * mhat / (vhat.sqrt() + 1e-8);
  }
  EXPECT_TRUE(params.parameter("w").allclose(p, 1e-10, 1e-12));
  EXPECT_EQ(opt->step_count("w"), 4);
}

TEST(Optimizer, UndefinedGradientLeavesParameterAndStateAlone) {
  auto opt = make_optimizer(OptimizerOptions{});
  auto params = one_param(torch::ones({3}));
  opt->step(params, {torch::Tensor()}, 0.1);
  EXPECT_TRUE(params.parameter("w").equal(torch::ones({3})));
  EXPECT_EQ(opt->step_count("w"), 0);
}

TEST(Optimizer, ResizeStateKeepsOldEntriesBitExactAndZeroesNew) {
  OptimizerOptions o;
  o.name = "adamw";
  auto opt = make_optimizer(o);
  auto params = one_param(torch::randn({3, 4}));
  opt->step(params, {torch::randn({3, 4})}, 0.01);
  const auto m_old = opt->slots("w").at("exp_avg").clone();
  opt->set_lr_scale("w", torch::full({3, 4}, 0.5));
  opt->resize_state("w", {5, 6});
  const auto& m = opt->slots("w").at("exp_avg");
  EXPECT_EQ(m.sizes(), (std::vector<int64_t>{5, 6}));
  EXPECT_TRUE(m.narrow(0, 0, 3).narrow(1, 0, 4).equal(m_old));
  EXPECT_EQ(m.narrow(0, 3, 2).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(m.narrow(1, 4, 2).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(opt->step_count("w"), 1);
  const auto* scale = opt->lr_scale("w");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ((*scale)[4][5].item<float>(), 1.0f);
  EXPECT_EQ((*scale)[0][0].item<float>(), 0.5f);
  opt->resize_state("w", {2, 2});  // shrink truncates
  EXPECT_TRUE(opt->slots("w").at("exp_avg").equal(m_old.narrow(0, 0, 2).narrow(1, 0, 2)));
}

TEST(Optimizer, LrScaleScalesTheUpdatePerElement) {
  OptimizerOptions o;
  o.momentum = 0;
  auto opt = make_optimizer(o);
  auto params = one_param(torch::zeros({2}));
  opt->set_lr_scale("w", torch::tensor({1.0f, 0.25f}));
  opt->step(params, {torch::ones({2})}, 0.4);
  EXPECT_TRUE(params.parameter("w").allclose(torch::tensor({-0.4f, -0.1f})));
}

TEST(Optimizer, RejectsBadOptions) {
  OptimizerOptions o;
  o.name = "lion";
  EXPECT_THROW(make_optimizer(o), ConfigError);
  o.name = "sgd";
  o.lr = -1;
  EXPECT_THROW(make_optimizer(o), ConfigError);
  o.lr = 0.1;
  o.momentum = 1.5;
  EXPECT_THROW(make_optimizer(o), ConfigError);
}

TEST(LrSchedule, CosineAndWarmup) {
  LrScheduleOptions o;
  o.name = "cosine";
  o.base_lr = 1.0;
  LrSchedule s(o, 100);
  EXPECT_DOUBLE_EQ(s.at(0), 1.0);
  EXPECT_NEAR(s.at(50), 0.5, 1e-12);
  EXPECT_NEAR(s.at(100), 0.0, 1e-12);
  o.warmup_steps = 9;
  LrSchedule w(o, 100);
  EXPECT_NEAR(w.at(0), 0.1, 1e-12);
  EXPECT_NEAR(w.at(8), 0.9, 1e-12);
  EXPECT_NEAR(w.at(9), 1.0, 1e-12);
  o.name = "step";
  EXPECT_THROW(LrSchedule(o, 10), ConfigError);
}

TEST(TensorUtil, ResizeKeepAndHash) {
  auto t = torch::arange(6, torch::kFloat32).view({2, 3});
  auto g = resize_keep(t, {3, 4}, -1.0);
  EXPECT_TRUE(g.narrow(0, 0, 2).narrow(1, 0, 3).equal(t));
  EXPECT_EQ(g[2][3].item<float>(), -1.0f);
  EXPECT_EQ(tensor_hash(t), tensor_hash(t.clone()));
  auto u = t.clone();
  u[1][2] = 5.0000005f;
  EXPECT_NE(tensor_hash(t), tensor_hash(u));
  EXPECT_NE(tensor_hash(t), tensor_hash(t.view({3, 2})));  // shape is part of the hash
}

}  // namespace
}  // namespace sprout::runtime
