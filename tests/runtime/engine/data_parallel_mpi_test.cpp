// The data-parallel engine on hand-built parameter sets with closed-form gradients:
// parameters without a gradient on some ranks or steps, parameter replacement (hooks and
// buckets rebuilt), overlap on and off (run under mpiexec -n 2 and -n 3).
#include <gtest/gtest.h>

#include <set>

#include "mpi_test_env.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

// Every rank holds the same bits in `t`.
void expect_same_on_every_rank(const torch::Tensor& t, const std::string& what) {
  auto hash = torch::tensor({static_cast<int64_t>(tensor_hash(t))}, torch::kInt64);
  auto all = world().allgather(hash);
  for (int k = 0; k < world().size(); ++k) EXPECT_EQ(all[k].item<int64_t>(), hash.item<int64_t>()) << what << " rank " << k;
}

// Parameters a (3), b (5), c (40000: a ring-sized bucket of its own), d (2).
ParamSet make_params() {
  ParamSet p;
  p.add_parameter("a", torch::ones({3}));
  p.add_parameter("b", torch::ones({5}));
  p.add_parameter("c", torch::ones({200, 200}));
  p.add_parameter("d", torch::ones({2}));
  return p;
}

// Rank r at step s: loss = (r+1)·Σa + 2·Σb + [(r+s) even] (r+1)·Σc ; d is never used.
// Gradient averaged over ranks: a: mean(r+1) = (n+1)/2, b: 2, c: Σ_{r:(r+s) even}(r+1) / n, d: 0.
void run_steps(DataParallel& dp, ParamSet& p, int steps) {
  const int n = world().size(), r = world().rank();
  for (int s = 0; s < steps; ++s) {
    dp.begin_step();
    auto loss = p.parameter("a").sum() * (r + 1) + p.parameter("b").sum() * 2;
    const bool uses_c = (r + s) % 2 == 0;
    if (uses_c) loss = loss + p.parameter("c").sum() * (r + 1);
    loss.backward();
    const auto& g = dp.finish_step();
    double c_sum = 0;
    for (int k = 0; k < n; ++k) c_sum += (k + s) % 2 == 0 ? k + 1 : 0;
    EXPECT_TRUE(g[0].allclose(torch::full({3}, (n + 1) / 2.0), 1e-6, 1e-7)) << "step " << s << " a " << g[0];
    EXPECT_TRUE(g[1].allclose(torch::full({5}, 2.0), 1e-6, 1e-7)) << "step " << s;
    EXPECT_TRUE(g[2].allclose(torch::full({200, 200}, c_sum / n), 1e-6, 1e-7)) << "step " << s;
    EXPECT_TRUE(g[3].eq(0).all().item<bool>()) << "step " << s;
    for (size_t i = 0; i < g.size(); ++i) expect_same_on_every_rank(g[i], p.parameter_name(i));
  }
}

TEST(Engine, MissingGradientsNeitherHangNorDesynchronise) {
  for (bool overlap : {true, false}) {
    for (double cap_mb : {0.00001, 25.0}) {  // a bucket per parameter, or few buckets
      auto p = make_params();
      DataParallel dp(world(), p, DataParallelOptions{cap_mb, cap_mb, overlap});
      run_steps(dp, p, 4);
      if (world().size() > 1 && overlap && cap_mb < 1) {
        // d (registered last) fills bucket 0 only in finish_step: nothing may start early.
        EXPECT_EQ(dp.buckets_started_early(), 0u);
      }
    }
  }
}

TEST(Engine, BucketsStartDuringBackwardWhenAllGradientsArrive) {
  if (world().size() == 1) GTEST_SKIP();
  ParamSet p;
  p.add_parameter("w1", torch::ones({100000}));
  p.add_parameter("w2", torch::ones({100000}));
  DataParallel dp(world(), p, DataParallelOptions{0.1, 0.1, true});
  dp.begin_step();
  (p.parameter("w1").sum() + p.parameter("w2").sum() * 3).backward();
  const auto& g = dp.finish_step();
  EXPECT_EQ(dp.layout().buckets().size(), 2u);
  EXPECT_EQ(dp.buckets_started_early(), 2u);
  EXPECT_TRUE(g[0].eq(1).all().item<bool>());
  EXPECT_TRUE(g[1].eq(3).all().item<bool>());
}

TEST(Engine, ReplacedParametersGetNewBucketsAndHooks) {
  for (bool overlap : {true, false}) {
    auto p = make_params();
    DataParallel dp(world(), p, DataParallelOptions{0.1, 0.01, overlap});
    run_steps(dp, p, 2);
    EXPECT_EQ(dp.rebuilds(), 1);
    // Surgery: "c" grows to 300×200 (a new leaf tensor), "a" is replaced by a same-size copy.
    const auto old_c = p.parameter("c");
    p.set_parameter("c", resize_keep(p.parameter("c").detach(), {300, 200}, 1.0));
    p.set_parameter("a", p.parameter("a").detach().clone());
    const auto& layout = dp.layout();
    EXPECT_EQ(dp.rebuilds(), 2);
    std::multiset<size_t> seen;
    for (const auto& bucket : layout.buckets()) {
      for (const auto& slot : bucket.slots) {
        seen.insert(slot.param);
        EXPECT_EQ(slot.numel, p.parameter(slot.param).numel()) << p.parameter_name(slot.param);
      }
    }
    EXPECT_EQ(seen, (std::multiset<size_t>{0, 1, 2, 3}));  // every parameter exactly once
    // The new tensors' gradients arrive (hooks moved); the replaced tensor's hook is gone:
    // a backward through it inside a step must not reach the buckets.
    const int n = world().size(), r = world().rank();
    dp.begin_step();
    (p.parameter("c").sum() * (r + 1) + p.parameter("a").sum() + old_c.sum() * 100).backward();
    const auto& g = dp.finish_step();
    ASSERT_EQ(g[2].sizes(), (std::vector<int64_t>{300, 200}));
    EXPECT_TRUE(g[2].allclose(torch::full({300, 200}, (n + 1) / 2.0), 1e-6, 1e-7));
    EXPECT_TRUE(g[0].allclose(torch::ones({3}), 1e-6, 1e-7));
    EXPECT_TRUE(g[1].eq(0).all().item<bool>());
    expect_same_on_every_rank(g[2], "c after replacement");
  }
}

TEST(Engine, SecondGradientInOneStepIsAnErrorNotAHang) {
  if (world().size() == 1) GTEST_SKIP();
  ParamSet p;
  p.add_parameter("x", torch::ones({4}));
  p.add_parameter("y", torch::ones({4}));
  // One parameter per bucket; y (registered last) is bucket 0 and never gets a gradient,
  // so nothing starts before finish_step and the step can still finish on every rank.
  DataParallel dp(world(), p, DataParallelOptions{0.000001, 0.000001, true});
  dp.begin_step();
  p.parameter("x").sum().backward();
  try {
    (p.parameter("x").sum() * 2).backward();
    ADD_FAILURE() << "second gradient accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("second gradient"), std::string::npos) << e.what();
  }
  const auto& g = dp.finish_step();
  EXPECT_TRUE(g[0].eq(1).all().item<bool>());
  EXPECT_TRUE(g[1].eq(0).all().item<bool>());
}

TEST(Engine, BackwardOutsideAStepLeavesBucketsAlone) {
  ParamSet p;
  p.add_parameter("x", torch::ones({4}));
  DataParallel dp(world(), p, DataParallelOptions{});
  dp.begin_step();
  p.parameter("x").sum().backward();
  dp.finish_step();
  // A growth strategy measuring gradients between steps: hooks fire but do nothing.
  (p.parameter("x").sum() * 5).backward();
  EXPECT_TRUE(p.parameter("x").grad().defined());
  dp.begin_step();
  (p.parameter("x").sum() * 3).backward();
  EXPECT_TRUE(dp.finish_step()[0].eq(3).all().item<bool>());
}

}  // namespace
}  // namespace sprout::runtime
