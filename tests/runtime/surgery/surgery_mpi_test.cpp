// The surgery transaction under mpiexec (-n 2, -n 3): rank 0's plan reaches every rank,
// optimizer state is resized bit-exactly, and every failure — a corrupted replica, ranks at
// different steps, a disagreement, a failing computation on the root — is raised on every
// rank as SurgeryError (no rank is left waiting).
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "runtime/error.h"
#include "runtime/comm/fingerprint.h"
#include "runtime/optim/optimizer.h"
#include "runtime/surgery/surgery.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

ParamSet two_params() {
  ParamSet p;
  p.add_parameter("a.weight", torch::arange(12, torch::kFloat32).reshape({3, 4}));
  p.add_parameter("a.bias", torch::ones({3}));
  p.add_buffer("a.stat", torch::zeros({3}));
  return p;
}

// Rank-dependent random values on the root only: other ranks must receive them.
SurgeryPlan grown_plan(const ParamSet& p) {
  SurgeryPlan plan;
  auto w = torch::randn({5, 4}) + 100.0 * world().rank();
  w.narrow(0, 0, 3).copy_(p.parameter("a.weight").detach());
  plan.parameters.emplace_back("a.weight", w);
  plan.parameters.emplace_back("a.bias", torch::randn({5}));
  plan.buffers.emplace_back("a.stat", torch::randn({5}).to(torch::kFloat64));
  plan.lr_scales.emplace_back("a.weight", torch::full({5, 4}, 0.5));
  return plan;
}

TEST(Surgery, RootPlanReachesEveryRankAndStateIsResizedBitExactly) {
  auto& w = world();
  auto params = two_params();
  OptimizerOptions oo;
  oo.name = "adamw";
  auto opt = make_optimizer(oo);
  std::vector<torch::Tensor> grads{torch::ones({3, 4}) * 0.1, torch::ones({3}) * 0.2};
  opt->step(params, grads, 0.01);
  const auto m_before = opt->slots("a.weight").at("exp_avg").clone();
  const int64_t v0 = params.version();
  Surgery s(w, params, opt.get(), SurgeryOptions{0, "test", -1});
  s.quiesce(42);
  s.decide("grow a +2");
  const auto plan = s.compute_on_root([&] { return grown_plan(params); });
  s.apply(plan);
  EXPECT_NO_THROW(s.commit());
  EXPECT_GT(params.version(), v0);
  EXPECT_EQ(params.parameter("a.weight").sizes(), (std::vector<int64_t>{5, 4}));
  EXPECT_LT(params.parameter("a.weight").max().item<double>(), 50.0);  // rank 0's values everywhere
  EXPECT_EQ(params.buffer("a.stat").scalar_type(), torch::kFloat64);
  const auto& m = opt->slots("a.weight").at("exp_avg");
  EXPECT_TRUE(m.narrow(0, 0, 3).equal(m_before));
  EXPECT_TRUE(m.narrow(0, 3, 2).eq(0).all().item<bool>());
  EXPECT_EQ(opt->step_count("a.weight"), 1);
  EXPECT_TRUE(opt->lr_scale("a.weight")->eq(0.5).all().item<bool>());
  EXPECT_TRUE(params.parameter("a.weight").requires_grad());
  EXPECT_TRUE(params.parameter("a.weight").is_leaf());
}

TEST(Surgery, CorruptedRankAbortsNamingTheParameterOnEveryRank) {
  auto& w = world();
  auto params = two_params();
  const int bad = w.size() - 1;
  Surgery s(w, params, nullptr, SurgeryOptions{0, "growth step 7 a", bad});
  s.quiesce(7);
  s.decide("x");
  s.apply(s.compute_on_root([&] { return grown_plan(params); }));
  try {
    s.commit();
    ADD_FAILURE() << "commit accepted diverged replicas";
  } catch (const SurgeryError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("growth step 7 a: a.weight differs between rank 0 and rank"), std::string::npos) << msg;
  }
}

TEST(Surgery, RanksAtDifferentStepsAreRefusedEverywhere) {
  auto& w = world();
  auto params = two_params();
  Surgery s(w, params, nullptr);
  EXPECT_THROW(s.quiesce(w.rank() == 1 ? 11 : 10), SurgeryError);
}

TEST(Surgery, DisagreementIsRefusedEverywhere) {
  auto& w = world();
  auto params = two_params();
  Surgery s(w, params, nullptr);
  s.quiesce(1);
  try {
    s.decide(w.rank() == w.size() - 1 ? "grow fc1 +4" : "grow fc1 +8");
    ADD_FAILURE() << "disagreement accepted";
  } catch (const SurgeryError& e) {
    EXPECT_NE(std::string(e.what()).find("ranks disagree"), std::string::npos) << e.what();
  }
}

TEST(Surgery, FailureOnTheRootReachesEveryRank) {
  auto& w = world();
  auto params = two_params();
  Surgery s(w, params, nullptr);
  s.quiesce(3);
  s.decide("x");
  try {
    s.compute_on_root([]() -> SurgeryPlan { throw std::runtime_error("SVD did not converge"); });
    ADD_FAILURE() << "no error";
  } catch (const SurgeryError& e) {
    EXPECT_NE(std::string(e.what()).find("SVD did not converge"), std::string::npos) << e.what();
  }
  // The communicator is still usable: nothing is left in flight.
  EXPECT_EQ(allreduce_int(w, 1, ReduceOp::Sum), w.size());
}

TEST(Surgery, PhasesOutOfOrderAreRefused) {
  auto& w = world();
  auto params = two_params();
  Surgery s(w, params, nullptr);
  EXPECT_THROW(s.apply(SurgeryPlan{}), Error);
  EXPECT_THROW(s.commit(), Error);
}

TEST(Surgery, UnknownNamesAreRefusedOnEveryRank) {
  auto& w = world();
  auto params = two_params();
  Surgery s(w, params, nullptr);
  s.quiesce(0);
  s.decide("x");
  auto plan = s.compute_on_root([] {
    SurgeryPlan p;
    p.parameters.emplace_back("nope.weight", torch::zeros({2}));
    return p;
  });
  EXPECT_THROW(s.apply(plan), SurgeryError);
}

}  // namespace
}  // namespace sprout::runtime
