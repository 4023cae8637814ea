// Growth strategies on one process: function preservation (growth/README.md "Invariants
// the tests check", 1), optimizer state (invariant 4), and each strategy's own rules.
#include <gtest/gtest.h>

#include <cmath>

#include "growth/site_resize.h"
#include "growth/strategies/gradient_statistics.h"
#include "../growth_test_util.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::growth {
namespace {

using sprout::testing::LoneCommunicator;

struct Case {
  const char* name;
  ArchSpec arch;
};

std::vector<Case> cases() {
  return {{"mlp", sprout::testing::mlp_arch(false)},
          {"mlp_bn", sprout::testing::mlp_arch(true)},
          {"cnn", sprout::testing::cnn_arch(false)},
          {"cnn_bn", sprout::testing::cnn_arch(true)},
          {"resnet", sprout::testing::resnet_arch()},
          {"vit", sprout::testing::vit_arch()}};
}

TEST(Strategies, EveryOneThatPromisesItPreservesTheFunction) {
  for (const auto& c : cases()) {
    const auto x = torch::randn({8, c.arch.in_channels, c.arch.in_height, c.arch.in_width});
    const auto b = sprout::testing::random_batch(c.arch, 8, 21);
    for (const auto& strategy : strategy_names()) {
      for (const auto& site : growth::build_model(c.arch, 0)->site_names()) {
        const auto probe = growth::build_model(c.arch, 0);
        if (!make_strategy(strategy)->refusal(probe->site(site)).empty()) {
          // A refusal is one line naming the strategy and the site, before any collective.
          LoneCommunicator comm;
          try {
            sprout::testing::GrowOptions go;
            go.strategy = strategy;
            sprout::testing::grow_site(comm, *probe, site, 3, &b, nullptr, go);
            ADD_FAILURE() << strategy << " grew refused site " << site;
          } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("--growth.strategy " + strategy + " cannot grow site " + site),
                      std::string::npos) << e.what();
          }
          EXPECT_EQ(c.arch.kind, "vit") << strategy << " refuses " << site;  // only GELU sites are refused
          continue;
        }
        for (int64_t k : {3, 4}) {
          SCOPED_TRACE(std::string(c.name) + " " + strategy + " " + site + " +" + std::to_string(k));
          auto m = sprout::testing::trained_looking_model(c.arch, 9);
          torch::NoGradGuard no_grad;
          const auto before = m->forward(x, false);
          const auto widths = m->widths();
          LoneCommunicator comm;
          sprout::testing::GrowOptions go;
          go.strategy = strategy;
          {
            torch::AutoGradMode grad(true);
            sprout::testing::grow_site(comm, *m, site, k, &b, nullptr, go);
          }
          EXPECT_EQ(m->widths().at(site), widths.at(site) + k);
          const auto after = m->forward(x, false);
          EXPECT_LT(sprout::testing::max_rel_diff(after, before), 1e-6);
        }
      }
    }
  }
}

TEST(Strategies, Net2NetWithNoiseChangesTheFunctionSlightly) {
  const auto arch = sprout::testing::mlp_arch(false);
  auto m = sprout::testing::trained_looking_model(arch, 2);
  const auto x = torch::randn({8, 1, 6, 6});
  const auto before = m->forward(x, false).detach();
  LoneCommunicator comm;
  sprout::testing::GrowOptions go;
  go.strategy = "net2net";
  go.options.noise = 0.1;
  sprout::testing::grow_site(comm, *m, "fc1", 4, nullptr, nullptr, go);
  const double d = sprout::testing::max_rel_diff(m->forward(x, false).detach(), before);
  EXPECT_GT(d, 1e-5);
  EXPECT_LT(d, 0.2);
}

TEST(Strategies, Net2NetCopiesUnitsAndSplitsTheirFanOut) {
  const auto arch = sprout::testing::cnn_arch(true);
  auto m = sprout::testing::trained_looking_model(arch, 3);
  const auto old = read_site(m->params(), m->site("conv2"));  // consumer fc1 across the flatten
  LoneCommunicator comm;
  sprout::testing::GrowOptions go;
  go.strategy = "net2net";
  sprout::testing::grow_site(comm, *m, "conv2", 5, nullptr, nullptr, go);
  const auto g = read_site(m->params(), m->site("conv2"));
  const int64_t n = old.width();
  std::vector<int64_t> count(n, 1);
  for (int64_t j = n; j < n + 5; ++j) {
    int64_t src = -1;
    for (int64_t u = 0; u < n; ++u) {
      if (g.fan_in[j].equal(old.fan_in[u])) src = u;
    }
    ASSERT_GE(src, 0) << "new unit " << j << " is no copy";
    EXPECT_TRUE(g.norm_weight[j].equal(old.norm_weight[src]));
    EXPECT_TRUE(g.running_var[j].equal(old.running_var[src]));
    ++count[src];
  }
  for (int64_t u = 0; u < n; ++u) {
    EXPECT_TRUE(g.fan_out[u].allclose(old.fan_out[u] / count[u], 1e-6, 1e-7)) << "unit " << u;
  }
}

TEST(Strategies, ZerosUnitsStayZeroWhenTrained) {
  const auto arch = sprout::testing::mlp_arch(false);
  auto m = sprout::testing::trained_looking_model(arch, 4);
  LoneCommunicator comm;
  sprout::testing::GrowOptions go;
  go.strategy = "zeros";
  sprout::testing::grow_site(comm, *m, "fc1", 3, nullptr, nullptr, go);
  runtime::OptimizerOptions oo;
  auto opt = runtime::make_optimizer(oo);
  const auto b = sprout::testing::random_batch(arch, 16, 5);
  for (int s = 0; s < 3; ++s) {
    at::cross_entropy_loss(m->forward(b.x, true), b.y).backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : m->params().parameters()) grads.push_back(p.grad());
    opt->step(m->params(), grads, 0.1);
    m->params().zero_grad();
  }
  const auto t = read_site(m->params(), m->site("fc1"));
  EXPECT_TRUE(t.fan_in.narrow(0, 12, 3).eq(0).all().item<bool>());
  EXPECT_TRUE(t.fan_out.narrow(0, 12, 3).eq(0).all().item<bool>());
}

TEST(VarianceTransfer, PairsRescalingAndStageLearningRates) {
  const auto arch = sprout::testing::mlp_arch(false);
  auto m = sprout::testing::trained_looking_model(arch, 5);
  const auto old = read_site(m->params(), m->site("fc1"));
  const auto old_bias2 = m->params().parameter("fc2.bias").detach().clone();
  LoneCommunicator comm;
  auto opt = runtime::make_optimizer({});
  opt->ensure_state(m->params());
  sprout::testing::GrowOptions go;
  go.strategy = "vt";
  sprout::testing::grow_site(comm, *m, "fc1", 4, nullptr, opt.get(), go);  // 12 -> 16: 2 pairs
  const auto g = read_site(m->params(), m->site("fc1"));
  const double c = std::sqrt(12.0 / 16.0);
  EXPECT_TRUE(g.fan_in.narrow(0, 12, 2).equal(g.fan_in.narrow(0, 14, 2)));     // [V; V]
  EXPECT_TRUE(g.fan_out.narrow(0, 12, 2).equal(-g.fan_out.narrow(0, 14, 2)));  // [Z, −Z]
  EXPECT_GT(g.fan_out.narrow(0, 12, 2).abs().max().item<double>(), 0.0);
  // Variance: V ~ N(0, 1/36), Z ~ N(0, 1/16); loose bounds on 72 / 20 draws.
  EXPECT_NEAR(g.fan_in.narrow(0, 12, 2).std().item<double>(), 1.0 / 6.0, 0.08);
  // No batch-norm after fc2: existing units' fan-in scaled by 1/c, their fan-out by c.
  EXPECT_TRUE(g.fan_out.narrow(0, 0, 12).allclose(old.fan_out * c, 1e-6, 1e-7));
  EXPECT_TRUE(g.fan_in.narrow(0, 0, 12).allclose(old.fan_in / c, 1e-6, 1e-7));
  EXPECT_TRUE(m->params().parameter("fc2.bias").equal(old_bias2));
  // Learning rates: new entries ‖Δ‖/‖W_0‖, old entries 1.
  const auto* s = opt->lr_scale("fc1.weight");
  ASSERT_NE(s, nullptr);
  const auto& w = m->params().parameter("fc1.weight");
  const double ratio = w.narrow(0, 12, 4).norm().item<double>() / w.narrow(0, 0, 12).norm().item<double>();
  EXPECT_TRUE(s->narrow(0, 0, 12).eq(1).all().item<bool>());
  EXPECT_NEAR(s->narrow(0, 12, 4).min().item<double>(), ratio, 1e-5);
  EXPECT_NEAR(s->narrow(0, 12, 4).max().item<double>(), ratio, 1e-5);
  ASSERT_NE(opt->lr_scale("fc2.weight"), nullptr);
  EXPECT_EQ(opt->lr_scale("fc2.weight")->sizes(), m->params().parameter("fc2.weight").sizes());
  // A second stage keeps the first stage's multipliers.
  const auto first = s->clone();
  go.initial_widths = {{"fc1", 12}, {"fc2", 10}};
  sprout::testing::grow_site(comm, *m, "fc1", 2, nullptr, opt.get(), go);
  const auto* s2 = opt->lr_scale("fc1.weight");
  EXPECT_TRUE(s2->narrow(0, 0, 16).equal(first));
  const auto& w2 = m->params().parameter("fc1.weight");
  EXPECT_NEAR(s2->narrow(0, 16, 2).max().item<double>(),
              w2.narrow(0, 16, 2).norm().item<double>() / w2.narrow(0, 0, 12).norm().item<double>(), 1e-5);
}

TEST(VarianceTransfer, BatchNormAfterTheConsumerAbsorbsTheRescaling) {
  const auto arch = sprout::testing::mlp_arch(true);
  auto m = sprout::testing::trained_looking_model(arch, 6);
  const auto old = read_site(m->params(), m->site("fc1"));
  const auto mean2 = m->params().buffer("bn_fc2.running_mean").clone();
  const auto var2 = m->params().buffer("bn_fc2.running_var").clone();
  const auto bias2 = m->params().parameter("fc2.bias").detach().clone();
  LoneCommunicator comm;
  sprout::testing::GrowOptions go;
  go.strategy = "vt";
  sprout::testing::grow_site(comm, *m, "fc1", 5, nullptr, nullptr, go);  // 2 pairs + 1 single
  const auto g = read_site(m->params(), m->site("fc1"));
  const double c = std::sqrt(12.0 / 17.0);
  EXPECT_TRUE(g.fan_in.narrow(0, 0, 12).equal(old.fan_in));  // producer untouched
  EXPECT_TRUE(g.fan_out.narrow(0, 0, 12).allclose(old.fan_out * c, 1e-6, 1e-7));
  EXPECT_TRUE(g.fan_out[16].eq(0).all().item<bool>());  // the odd unit reads nothing yet
  EXPECT_TRUE(m->params().parameter("fc2.bias").allclose(bias2 * c, 1e-6, 1e-7));
  EXPECT_TRUE(m->params().buffer("bn_fc2.running_mean").allclose(mean2 * c, 1e-6, 1e-7));
  EXPECT_TRUE(m->params().buffer("bn_fc2.running_var").allclose((var2 + 1e-5) * c * c - 1e-5, 1e-6, 1e-7));
}

// Old optimizer entries bit-exact, new entries 0, step counters kept, no stale shapes.
void expect_state_kept(const std::string& optimizer, const std::string& strategy) {
  SCOPED_TRACE(optimizer + " " + strategy);
  const auto arch = sprout::testing::mlp_arch(true);
  auto m = sprout::testing::trained_looking_model(arch, 7);
  runtime::OptimizerOptions oo;
  oo.name = optimizer;
  auto opt = runtime::make_optimizer(oo);
  const auto b = sprout::testing::random_batch(arch, 16, 8);
  for (int s = 0; s < 3; ++s) {
    at::cross_entropy_loss(m->forward(b.x, true), b.y).backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : m->params().parameters()) grads.push_back(p.grad());
    opt->step(m->params(), grads, 0.05);
    m->params().zero_grad();
  }
  std::map<std::string, runtime::Optimizer::Slots> before;
  for (const auto& [name, slots] : opt->state()) {
    for (const auto& [slot, t] : slots) before[name][slot] = t.clone();
  }
  const auto steps = opt->step_counts();
  LoneCommunicator comm;
  sprout::testing::GrowOptions go;
  go.strategy = strategy;
  sprout::testing::grow_site(comm, *m, "fc1", 3, &b, opt.get(), go);
  EXPECT_EQ(opt->step_counts(), steps);
  for (const auto& [name, slots] : opt->state()) {
    const auto& p = m->params().parameter(name);
    for (const auto& [slot, t] : slots) {
      SCOPED_TRACE(name + "." + slot);
      ASSERT_EQ(t.sizes(), p.sizes());
      const auto& old = before.at(name).at(slot);
      auto region = t;
      for (int64_t d = 0; d < old.dim(); ++d) region = region.narrow(d, 0, old.size(d));
      EXPECT_TRUE(region.equal(old));  // bitwise
      auto rest = t.clone();
      auto hole = rest;
      for (int64_t d = 0; d < old.dim(); ++d) hole = hole.narrow(d, 0, old.size(d));
      hole.zero_();
      EXPECT_TRUE(rest.eq(0).all().item<bool>());  // new entries 0
      EXPECT_GT(old.abs().sum().item<double>(), 0.0);
    }
  }
  for (const auto& [name, s] : opt->lr_scales()) EXPECT_EQ(s.sizes(), m->params().parameter(name).sizes()) << name;
  // Training goes on with the grown shapes.
  at::cross_entropy_loss(m->forward(b.x, true), b.y).backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : m->params().parameters()) grads.push_back(p.grad());
  EXPECT_NO_THROW(opt->step(m->params(), grads, 0.05));
}

TEST(Strategies, OptimizerStateOldEntriesBitExactNewEntriesZero) {
  for (const char* o : {"sgd", "adamw"}) {
    for (const char* s : {"gradmax", "net2net", "vt"}) expect_state_kept(o, s);
  }
}

TEST(Strategies, UnknownNameAndBadOptionsAreConfigErrors) {
  EXPECT_THROW(make_strategy("firefly"), ConfigError);
  StrategyOptions o;
  o.scale_mode = "max";
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.scale = 0;
  EXPECT_THROW(validate(o), ConfigError);
  try {
    make_strategy("nope");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("gradmax, random, zeros, net2net, vt"), std::string::npos) << e.what();
  }
}

TEST(Strategies, EventSeedsDifferBySiteAndStep) {
  EXPECT_EQ(event_seed(1, 10, "fc1"), event_seed(1, 10, "fc1"));
  EXPECT_NE(event_seed(1, 10, "fc1"), event_seed(1, 10, "fc2"));
  EXPECT_NE(event_seed(1, 10, "fc1"), event_seed(1, 11, "fc1"));
  EXPECT_NE(event_seed(1, 10, "fc1"), event_seed(2, 10, "fc1"));
}

}  // namespace
}  // namespace sprout::growth
