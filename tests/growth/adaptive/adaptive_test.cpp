// Adaptive width (growth/adaptive/adaptive.h): the importance distribution against its closed form
// (computed here in double from F(x) = 1 − e^{−λx}), the truncation rule, truncation of a
// trained model at its full width, the prior, and the width-changing plan.
#include <gtest/gtest.h>

#include <cmath>

#include "growth/adaptive/adaptive.h"
#include "../growth_test_util.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

using sprout::testing::LoneCommunicator;
using sprout::testing::cnn_arch;
using sprout::testing::mlp_arch;
using sprout::testing::trained_looking_model;

TEST(Adaptive, ImportanceIsMonotoneSumsToOneAndMatchesTheDiscretisedExponential) {
  for (double lambda : {0.001, 0.01, 0.05, 0.3, 2.0}) {
    for (int64_t d : {2, 3, 17, 230}) {
      auto p = importance(torch::tensor({lambda}, torch::kFloat64), d);  // (d)
      ASSERT_EQ(p.size(0), d);
      EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-12) << lambda << " " << d;
      EXPECT_TRUE((p.narrow(0, 1, d - 1) < p.narrow(0, 0, d - 1)).all().item<bool>()) << "not decreasing at " << lambda;
      const double kept = 1 - std::exp(-lambda * d);  // F(D)
      for (int64_t i : {int64_t{0}, d / 2, d - 1}) {
        const double pi = (1 - std::exp(-lambda * (i + 1))) - (1 - std::exp(-lambda * i));  // F(i+1) − F(i)
        EXPECT_NEAR(p[i].item<double>(), pi / kept, 1e-12 * std::max(1.0, pi / kept)) << lambda << " " << d << " " << i;
      }
    }
  }
}

TEST(Adaptive, ImportancePassesGradientToTheRate) {
  auto raw = torch::full({1}, -2.0, torch::requires_grad());
  auto p = importance(rate(raw, 1e-3), 20);
  (p * torch::arange(20, torch::kFloat32)).sum().backward();  // mean index: falls as λ grows
  ASSERT_TRUE(raw.grad().defined());
  EXPECT_LT(raw.grad().item<double>(), 0);
}

TEST(Adaptive, TruncationWidthFollowsTheQuantileRule) {
  const double q = 0.9, c = -std::log(1 - q);
  EXPECT_EQ(truncation_width(0.01, q, 100000), static_cast<int64_t>(c / 0.01 + 2));  // 232
  EXPECT_EQ(truncation_width(0.01, q, 100000), 232);
  EXPECT_EQ(truncation_width(100.0, q, 1000), 2);     // the smallest width
  EXPECT_EQ(truncation_width(1e-6, q, 1000), 1000);   // capped
  for (int64_t w = 2; w <= 600; ++w) {
    const double lambda = std::log1p(std::exp(raw_for_width(w, q)));  // softplus
    EXPECT_EQ(truncation_width(lambda, q, 100000), w) << "raw_for_width(" << w << ")";
    // D keeps the mass q: the untruncated tail beyond D holds at most 1 − q.
    EXPECT_LE(std::exp(-lambda * w), 1 - q + 1e-12);
  }
}

TEST(Adaptive, MakeAdaptiveStartsAtTheModelsWidthsAndRejectsUnknownSites) {
  auto m = build_model(mlp_arch(false, {12, 7}), 1);
  make_adaptive(*m, {});
  make_adaptive(*m, {});  // idempotent
  EXPECT_EQ(adaptive_sites(*m), (std::vector<std::string>{"fc1", "fc2"}));
  AdaptiveSpec spec;
  EXPECT_EQ(target_widths(*m, spec), m->widths());
  EXPECT_EQ(m->params().parameter("adaptive.fc1.raw").sizes(), torch::IntArrayRef({1}));
  auto n = build_model(mlp_arch(false), 1);
  spec.sites = {"fc3"};
  try {
    make_adaptive(*n, spec);
    FAIL() << "no error for an unknown site";
  } catch (const sprout::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--model.adaptive_sites: 'fc3' is not a site"), std::string::npos) << e.what();
  }
}

void expect_truncation_at_full_width_is_exact(const ArchSpec& arch) {
  auto m = trained_looking_model(arch, 3);
  make_adaptive(*m, {});
  {
    torch::NoGradGuard g;
    m->params().parameter("adaptive.fc1.raw").add_(0.7);  // λ no longer the initial one
  }
  auto x = torch::randn({5, arch.in_channels, arch.in_height, arch.in_width});
  ForwardOptions o;
  auto full = adaptive_forward(*m, x, o, 1e-3);
  const auto widths = m->widths();
  o.active = &widths;
  EXPECT_TRUE(adaptive_forward(*m, x, o, 1e-3).equal(full)) << arch.describe();
  std::map<std::string, int64_t> fewer = widths;
  fewer["fc1"] -= 2;
  o.active = &fewer;
  EXPECT_FALSE(adaptive_forward(*m, x, o, 1e-3).equal(full)) << "truncation must change something";
  EXPECT_FALSE(m->forward(x, false).equal(full)) << "the importances must be applied";
}

TEST(Adaptive, TruncatingAtTheLearnedWidthLeavesOutputsUnchanged) {
  expect_truncation_at_full_width_is_exact(mlp_arch(false));
  expect_truncation_at_full_width_is_exact(mlp_arch(true));
  expect_truncation_at_full_width_is_exact(cnn_arch(true));
}

TEST(Adaptive, LogPriorIsTheGaussianOfWeightsAndRates) {
  auto m = build_model(mlp_arch(false, {4, 3}), 2);
  make_adaptive(*m, {});
  AdaptivePrior prior{5.0, 0.01, 0.02};
  double theta = 0, rates = 0;
  const auto& p = m->params();
  for (size_t i = 0; i < p.num_parameters(); ++i) {
    const auto& name = p.parameter_name(i);
    if (name.rfind("adaptive.", 0) == 0) {
      const double l = std::log1p(std::exp(p.parameter(i).item<double>()));
      rates += (l - 0.01) * (l - 0.01);
    } else {
      theta += p.parameter(i).detach().to(torch::kFloat64).pow(2).sum().item<double>();
    }
  }
  const double want = -theta / (2 * 25.0) - rates / (2 * 0.0004);
  EXPECT_NEAR(log_prior(*m, prior, 1e-3).item<double>(), want, 1e-5 * std::abs(want));
}

// The plan keeps the leading units of every site bit-exact and gives the new widths.
void expect_resize_keeps_leading_units(const ArchSpec& arch, const std::map<std::string, int64_t>& target) {
  auto m = trained_looking_model(arch, 4);
  make_adaptive(*m, {});
  std::map<std::string, SiteTensors> before;
  for (const auto& s : m->sites()) before[s.name] = read_site(m->params(), s);
  LoneCommunicator comm;
  runtime::Surgery surgery(comm, m->params(), nullptr);
  const auto changed = adapt_widths(surgery, *m, target, 3, 1.0, 11);
  for (const auto& [site, w] : target) {
    EXPECT_EQ(m->site(site).width, w) << site;
    if (w != before[site].width()) {
      EXPECT_EQ(changed.at(site), before[site].width()) << site;
    }
  }
  for (const auto& s : m->sites()) {
    const auto now = read_site(m->params(), s);
    const auto& old = before[s.name];
    const int64_t k = std::min(now.width(), old.width());
    // fan_in columns / fan_out columns of a neighbouring resized site move; compare the block both share.
    auto shared = [](const torch::Tensor& a, const torch::Tensor& b, int64_t rows) {
      const int64_t cols = std::min(a.size(1), b.size(1));
      return a.narrow(0, 0, rows).narrow(1, 0, cols).equal(b.narrow(0, 0, rows).narrow(1, 0, cols));
    };
    EXPECT_TRUE(now.bias.narrow(0, 0, k).equal(old.bias.narrow(0, 0, k))) << s.name;
    EXPECT_TRUE(now.fan_in.size(1) == old.fan_in.size(1) ? now.fan_in.narrow(0, 0, k).equal(old.fan_in.narrow(0, 0, k))
                                                         : true)
        << s.name;
    if (now.fan_out.size(1) == old.fan_out.size(1)) {
      EXPECT_TRUE(shared(now.fan_out, old.fan_out, k)) << s.name;
    }
    if (old.has_norm()) {
      EXPECT_TRUE(now.running_var.narrow(0, 0, k).equal(old.running_var.narrow(0, 0, k))) << s.name;
    }
    if (now.width() > old.width()) {
      EXPECT_GT(now.fan_in.narrow(0, k, now.width() - k).abs().sum().item<double>(), 0) << "new units are random";
    }
  }
  auto x = torch::randn({3, arch.in_channels, arch.in_height, arch.in_width});
  EXPECT_EQ(adaptive_forward(*m, x, {}, 1e-3).sizes(), torch::IntArrayRef({3, arch.classes}));
}

TEST(Adaptive, WidthChangeKeepsLeadingUnits) {
  expect_resize_keeps_leading_units(mlp_arch(false, {12, 10}), {{"fc1", 15}, {"fc2", 6}});  // fc2 is both
  expect_resize_keeps_leading_units(mlp_arch(true, {12, 10}), {{"fc1", 5}, {"fc2", 13}});
  expect_resize_keeps_leading_units(cnn_arch(true), {{"conv1", 5}, {"conv2", 2}, {"fc1", 9}});  // flatten boundary
}

TEST(Adaptive, TruncateUnitsKeepsTheFirstN) {
  auto m = trained_looking_model(mlp_arch(true), 5);
  const auto t = read_site(m->params(), m->site("fc1"));
  const auto h = truncate_units(t, 4);
  EXPECT_EQ(h.width(), 4);
  EXPECT_TRUE(h.fan_in.equal(t.fan_in.narrow(0, 0, 4)));
  EXPECT_TRUE(h.fan_out.equal(t.fan_out.narrow(0, 0, 4)));
  EXPECT_TRUE(h.running_mean.equal(t.running_mean.narrow(0, 0, 4)));
  EXPECT_THROW(truncate_units(t, t.width() + 1), sprout::Error);
}

}  // namespace
}  // namespace sprout::growth
