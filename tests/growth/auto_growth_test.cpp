// Automatic growth's decisions (growth/auto_growth.h), by hand-computed cases: the plateau
// detector's windows, patience, threshold, cooldown and start; how many units and the
// budget; the scores and the choice; and that the GradMax bound a candidate is scored by
// is the squared gradient norm the zero-fan-in units of a GradMax growth then receive.
#include "growth/auto_growth.h"

#include <gtest/gtest.h>

#include <cmath>

#include "growth/models/family.h"
#include "growth/strategies/gradient_statistics.h"
#include "growth_test_util.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

PlateauSettings settings(int64_t window, int64_t patience, double min_delta, int64_t cooldown = 0, int64_t start = 0) {
  PlateauSettings s;
  s.window = window;
  s.patience = patience;
  s.min_delta = min_delta;
  s.cooldown = cooldown;
  s.start = start;
  return s;
}

// Feeds `loss` for the steps [from, from + n); returns the number of windows closed.
int feed(PlateauDetector& d, int64_t from, int64_t n, double loss) {
  int closed = 0;
  for (int64_t step = from; step < from + n; ++step) closed += d.add(step, loss) ? 1 : 0;
  return closed;
}

TEST(PlateauDetector, WindowsMeansAndPatience) {
  PlateauDetector d(settings(2, 2, 0.1));
  EXPECT_FALSE(d.add(0, 1.2));
  EXPECT_TRUE(d.add(1, 0.8));  // window 1: mean 1.0, the first best
  EXPECT_DOUBLE_EQ(d.state().last_mean, 1.0);
  EXPECT_DOUBLE_EQ(d.state().best, 1.0);
  EXPECT_EQ(d.state().stale, 0);
  EXPECT_EQ(feed(d, 2, 2, 0.95), 1);  // 0.95 is not below 1.0·(1 − 0.1): stale 1
  EXPECT_EQ(d.state().stale, 1);
  EXPECT_FALSE(d.plateau(4));
  EXPECT_EQ(feed(d, 4, 2, 0.92), 1);  // stale 2 = patience
  EXPECT_TRUE(d.plateau(6));
  EXPECT_DOUBLE_EQ(d.state().best, 1.0);  // small improvements do not move the best
  EXPECT_EQ(feed(d, 6, 2, 0.85), 1);      // 0.85 < 0.9: an improvement, counted from the old best
  EXPECT_DOUBLE_EQ(d.state().best, 0.85);
  EXPECT_EQ(d.state().stale, 0);
  EXPECT_FALSE(d.plateau(8));
  EXPECT_EQ(d.state().windows, 4);
  EXPECT_EQ(d.state().window_steps, 0);
}

TEST(PlateauDetector, GrowthRestartsTheCountAndCooldownAndStartHoldItBack) {
  PlateauDetector d(settings(2, 1, 0.5, /*cooldown=*/5, /*start=*/6));
  feed(d, 0, 4, 1.0);  // windows 1.0 (best), 1.0 (stale 1)
  EXPECT_EQ(d.state().stale, 1);
  EXPECT_FALSE(d.plateau(4));  // before growth.auto_start
  EXPECT_TRUE(d.plateau(6));
  d.grew(6);
  EXPECT_EQ(d.state().stale, 0);
  EXPECT_EQ(d.state().last_growth, 6);
  feed(d, 6, 2, 1.0);  // closes after step 7: 8 − 6 = 2 < 5, cooling: not stale
  EXPECT_EQ(d.state().stale, 0);
  feed(d, 8, 2, 1.0);  // after step 9: 10 − 6 = 4 < 5, still cooling
  EXPECT_EQ(d.state().stale, 0);
  feed(d, 10, 2, 1.0);  // after step 11: 6 steps since the growth: stale
  EXPECT_EQ(d.state().stale, 1);
  EXPECT_TRUE(d.plateau(12));
}

TEST(PlateauDetector, CooldownAlsoHoldsBackAPlateauReachedEarlier) {
  PlateauDetector d(settings(1, 0, 0.0, /*cooldown=*/3));  // patience 0: every step past the cooldown
  EXPECT_FALSE(d.plateau(0));  // ... once a window has closed
  d.add(0, 1.0);
  EXPECT_TRUE(d.plateau(1));
  d.grew(1);
  EXPECT_FALSE(d.plateau(2));
  EXPECT_FALSE(d.plateau(3));
  EXPECT_TRUE(d.plateau(4));
}

TEST(PlateauDetector, StateRoundTripsAndContinuesTheSame) {
  PlateauDetector a(settings(3, 2, 0.05));
  feed(a, 0, 7, 0.5);  // two windows closed, one step open
  PlateauDetector b(a.settings(), a.state());
  EXPECT_EQ(a.state(), b.state());
  for (int64_t step = 7; step < 20; ++step) {
    const double loss = 0.5 - 0.001 * static_cast<double>(step);
    EXPECT_EQ(a.add(step, loss), b.add(step, loss));
    EXPECT_EQ(a.plateau(step + 1), b.plateau(step + 1));
  }
  EXPECT_EQ(a.state(), b.state());
  EXPECT_EQ(a.state().window_steps, 2);  // 20 steps, windows of 3
}

TEST(AutoGrowth, UnitsToAdd) {
  EXPECT_EQ(units_to_add(64, 0.25), 16);
  EXPECT_EQ(units_to_add(10, 0.25), 3);  // 2.5 rounds up
  EXPECT_EQ(units_to_add(3, 0.1), 1);    // at least one
  EXPECT_EQ(units_to_add(7, 1.0), 7);
}

TEST(AutoGrowth, BoundIsTheSumOfTheTopSquaredSingularValues) {
  const auto m = torch::diag(torch::tensor({1.0, 3.0, 2.0}, torch::kFloat64));
  EXPECT_NEAR(gradmax_bound(m, 1), 9.0, 1e-12);
  EXPECT_NEAR(gradmax_bound(m, 2), 13.0, 1e-12);
  EXPECT_NEAR(gradmax_bound(m, 5), 14.0, 1e-12);  // more directions than M has
  EXPECT_EQ(gradmax_bound(m, 0), 0.0);
}

// The MLP of the growth tests: 36 inputs, hidden 12 and 10, 10 classes, no batch-norm.
ArchSpec small_mlp() { return complete(sprout::testing::mlp_arch(false)); }

TEST(AutoGrowth, ModelSizeCountsParametersAndMacs) {
  const auto arch = small_mlp();
  const auto size = model_size(arch);
  EXPECT_EQ(size.params, (36 * 12 + 12) + (12 * 10 + 10) + (10 * 10 + 10));  // 684
  EXPECT_EQ(size.macs, 36 * 12 + 12 * 10 + 10 * 10);                         // 652
  EXPECT_EQ(size.params, static_cast<int64_t>(build_model(arch, 1)->params().parameter_numel()));
  const auto grown = model_size(arch, {{"fc1", 15}});  // a unit of fc1: 36 + 1 fan-in, 10 fan-out
  EXPECT_EQ(grown.params - size.params, 3 * 47);
  EXPECT_EQ(grown.macs - size.macs, 3 * 46);
}

TEST(AutoGrowth, TheBudgetLowersTheUnitsAndEndsGrowth) {
  const auto arch = small_mlp();
  GrowthBudget none;
  EXPECT_EQ(fit_to_budget(arch, "fc1", 12, 3, none), 3);
  GrowthBudget params;
  params.max_params = 684 + 100;  // 47 per fc1 unit: 2 fit
  ModelSize after;
  EXPECT_EQ(fit_to_budget(arch, "fc1", 12, 3, params, &after), 2);
  EXPECT_EQ(after.params, 684 + 94);
  EXPECT_EQ(fit_to_budget(arch, "fc2", 10, 5, params), 4);  // 12 + 1 + 10 = 23 per fc2 unit
  params.max_params = 684 + 22;
  EXPECT_EQ(fit_to_budget(arch, "fc2", 10, 5, params), 0);
  GrowthBudget macs;
  macs.max_macs = 652 + 50;  // 46 MACs per fc1 unit, 22 per fc2 unit
  EXPECT_EQ(fit_to_budget(arch, "fc1", 12, 3, macs), 1);
  EXPECT_EQ(fit_to_budget(arch, "fc2", 10, 3, macs), 2);
}

TEST(AutoGrowth, ScoresAreTheBoundPerCostAndTheLargestFeasibleWins) {
  const auto arch = small_mlp();
  GrowthCandidate fc1, fc2;
  fc1.name = "fc1";
  fc1.width = 12;
  fc2.name = "fc2";
  fc2.width = 10;
  GrowthBudget budget;
  size_candidate(arch, fc1, 0.25, budget, CostMeasure::Params);  // +3 units, 141 parameters
  size_candidate(arch, fc2, 0.25, budget, CostMeasure::Params);  // +3 (2.5 rounded), 69 parameters
  EXPECT_EQ(fc1.add, 3);
  EXPECT_DOUBLE_EQ(fc1.cost, 141);
  EXPECT_EQ(fc1.params_after, 684 + 141);
  EXPECT_EQ(fc1.macs_after, 652 + 138);
  EXPECT_EQ(fc2.add, 3);
  EXPECT_DOUBLE_EQ(fc2.cost, 69);
  fc1.bound = 2.0;  // the larger bound ...
  fc2.bound = 1.2;  // ... but fc2's units are cheaper: 1.2/69 > 2/141
  std::vector<GrowthCandidate> c{fc1, fc2};
  score_candidates(c);
  EXPECT_DOUBLE_EQ(c[0].score, 2.0 / 141);
  EXPECT_DOUBLE_EQ(c[1].score, 1.2 / 69);
  EXPECT_EQ(best_candidate(c), 1);
  GrowthCandidate m1 = fc1, m2 = fc2;  // per MAC: 2/138 vs 1.2/66 (22 MACs per fc2 unit)
  size_candidate(arch, m1, 0.25, budget, CostMeasure::Macs);
  size_candidate(arch, m2, 0.25, budget, CostMeasure::Macs);
  EXPECT_DOUBLE_EQ(m1.cost, 138);
  EXPECT_DOUBLE_EQ(m2.cost, 66);
  std::vector<GrowthCandidate> raw{fc1, fc2};  // unnormalised: the larger bound
  size_candidate(arch, raw[0], 0.25, budget, CostMeasure::None);
  size_candidate(arch, raw[1], 0.25, budget, CostMeasure::None);
  score_candidates(raw);
  EXPECT_EQ(best_candidate(raw), 0);
  c[1].infeasible = "budget";  // an infeasible candidate never wins, whatever its bound
  score_candidates(c);
  EXPECT_EQ(c[1].score, 0.0);
  EXPECT_EQ(best_candidate(c), 0);
  c[0].infeasible = "budget";
  EXPECT_EQ(best_candidate(c), -1);
  std::vector<GrowthCandidate> tie{fc1, fc1};  // a tie goes to the first in the model's order
  tie[1].name = "fc1 again";
  score_candidates(tie);
  EXPECT_EQ(best_candidate(tie), 0);
}

TEST(AutoGrowth, BudgetTooSmallForOneUnitIsInfeasible) {
  const auto arch = small_mlp();
  GrowthCandidate c;
  c.name = "fc1";
  c.width = 12;
  GrowthBudget budget;
  budget.max_params = 684 + 46;  // one fc1 unit needs 47
  size_candidate(arch, c, 0.5, budget, CostMeasure::Params);
  EXPECT_EQ(c.add, 0);
  EXPECT_EQ(c.infeasible, "budget");
}

TEST(AutoGrowth, CostMeasureNames) {
  EXPECT_EQ(parse_cost_measure("params"), CostMeasure::Params);
  EXPECT_EQ(cost_measure_name(parse_cost_measure("macs")), "macs");
  EXPECT_EQ(parse_cost_measure("none"), CostMeasure::None);
  try {
    parse_cost_measure("flops");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--growth.auto_cost: 'flops'"), std::string::npos) << e.what();
  }
}

// The score's bound is what GradMax delivers: after growing k units with new fan-out
// columns of norm 1, ‖∂L/∂W_new‖² equals the bound of k directions (for a heads group,
// k·d_h directions), on an MLP site with batch-norm, a CNN site across the flatten, a
// ViT's GELU site and a ViT's heads group.
TEST(AutoGrowth, TheBoundIsTheSquaredGradientNormOfGradMaxsNewUnits) {
  struct Case {
    const char* name;
    ArchSpec arch;
    std::string group;
    int64_t k, directions;
  };
  const std::vector<Case> cases{{"mlp", sprout::testing::mlp_arch(true), "fc1", 3, 3},
                                {"cnn", sprout::testing::cnn_arch(false), "conv2", 2, 2},
                                {"vit", sprout::testing::vit_arch(), "block1.fc1", 2, 2},
                                {"vit heads", sprout::testing::vit_arch(), "block2.heads", 1, 4}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto m = sprout::testing::trained_looking_model(c.arch, 5);
    const auto b = sprout::testing::random_batch(c.arch, 16, 9);
    const auto site = m->site(c.group);
    const auto mat = site.inner() ? growth_matrix(*m, site, b) : heads_growth_matrix(*m, site, b);
    const double bound = gradmax_bound(mat, c.directions);
    ASSERT_GT(bound, 0);
    sprout::testing::LoneCommunicator comm;
    sprout::testing::GrowOptions go;
    go.options.scale_mode = "fixed";
    go.options.scale = 1.0;
    sprout::testing::grow_site(comm, *m, c.group, c.k, &b, nullptr, go);
    // A new unit's batch-norm (identity, eps) scales its gradient by 1/sqrt(1 + eps).
    const double bn = site.norm.empty() ? 1.0 : 1.0 / (1.0 + 1e-5);
    const double got = new_fan_in_grad_norm(comm, *m, m->site(c.group), site.width, b);
    EXPECT_NEAR(got * got, bound * bn, 1e-4 * bound);
    // Fewer directions than the units take: a smaller bound (M has full rank here).
    EXPECT_LT(gradmax_bound(mat, c.directions - 1), bound);
  }
}

}  // namespace
}  // namespace sprout::growth
