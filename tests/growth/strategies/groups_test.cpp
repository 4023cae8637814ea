// Width groups (growth/models/model.h): heads groups and residual groups grown by every
// strategy that accepts them, with the function kept to 1e-5; the refusals, each naming
// the group; optimizer state of old entries bit-exact through a group's growth and its
// shrinking; a grown model rebuilt from its architecture text.
#include <gtest/gtest.h>

#include "growth/models/memory_estimate.h"
#include "growth/site_resize.h"
#include "growth/strategies/gradient_statistics.h"
#include "../growth_test_util.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

using sprout::testing::LoneCommunicator;

// The architecture of `m` rebuilt from its checkpoint text, with m's tensors copied in by
// name (what a checkpoint restore does): every shape must match.
std::unique_ptr<Model> rebuilt(const Model& m) {
  auto r = build_model(ArchSpec::parse(m.arch().serialize()), 99);
  torch::NoGradGuard no_grad;
  auto& p = r->params();
  EXPECT_EQ(p.num_parameters(), m.params().num_parameters());
  for (size_t i = 0; i < p.num_parameters(); ++i) {
    const auto& name = p.parameter_name(i);
    const auto& from = m.params().parameter(name);
    EXPECT_EQ(p.parameter(i).sizes(), from.sizes()) << name;
    if (p.parameter(i).sizes() == from.sizes()) p.parameter(i).copy_(from);
  }
  for (const auto& name : p.buffer_names()) {
    const auto& from = m.params().buffer(name);
    EXPECT_EQ(p.buffer(name).sizes(), from.sizes()) << name;
    if (p.buffer(name).sizes() == from.sizes()) p.buffer(name).copy_(from);
  }
  return r;
}

// Which strategy accepts which kind of group, growing by `add` (growth/README.md "Width groups").
bool accepts(const std::string& strategy, const WidthSite& g, int64_t add) {
  if (strategy == "gradmax") return g.group == WidthSite::Group::Heads;
  if (strategy == "vt") return false;
  if (!g.normalised_over_units) return true;
  return strategy == "net2net" && add % g.width == 0;
}

struct Case {
  ArchSpec arch;
  std::vector<std::string> groups;  // expected non-inner groups, in order
};

// Stage widths 6, 8, 10 under a 16-channel stem: block 1 projects, the stem is no
// producer of stage 1.
ArchSpec projected_resnet() {
  auto a = sprout::testing::resnet_arch();
  a.set_ints("stages", {6, 8, 10});
  return a;
}

std::vector<Case> cases() {
  return {{sprout::testing::resnet_arch(), {"stage1", "stage2", "stage3"}},
          {projected_resnet(), {"stage1", "stage2", "stage3"}},
          {sprout::testing::vit_arch(), {"block1.heads", "block2.heads", "stream"}}};
}

TEST(WidthGroups, FamiliesListTheirGroupsWithWidths) {
  for (const auto& c : cases()) {
    auto m = build_model(c.arch, 0);
    std::vector<std::string> names;
    for (const auto& g : m->groups()) {
      if (!g.inner()) names.push_back(g.name);
    }
    EXPECT_EQ(names, c.groups) << c.arch.kind;
    const auto listed = group_widths(m->arch());  // without building
    EXPECT_EQ(m->group_widths(), (std::map<std::string, int64_t>(listed.begin(), listed.end())));
  }
  auto r = build_model(sprout::testing::resnet_arch(), 0);
  EXPECT_EQ(r->site("stage1").width, 16);
  EXPECT_EQ(r->site("stage3").width, 64);
  EXPECT_EQ(r->site("stage1").producers.front().tensor, "stem.weight");  // identity shortcut: the stem is tied in
  auto p = build_model(projected_resnet(), 0);
  EXPECT_EQ(p->site("stage1").producers.front().tensor, "block1.shortcut.weight");
  EXPECT_EQ(p->site("stage3").consumers.back().tensor, "fc.weight");
  auto v = build_model(sprout::testing::vit_arch(), 0);
  EXPECT_EQ(v->site("block1.heads").width, 2);
  EXPECT_EQ(v->site("stream").width, 8);
  EXPECT_TRUE(v->site("stream").normalised_over_units);
}

TEST(WidthGroups, EveryStrategyGrowsOrRefusesEveryGroupAndKeepsTheFunction) {
  for (const auto& c : cases()) {
    const auto x = torch::randn({6, c.arch.in_channels, c.arch.in_height, c.arch.in_width});
    const auto b = sprout::testing::random_batch(c.arch, 6, 21);
    for (const auto& strategy : strategy_names()) {
      for (const auto& name : c.groups) {
        const auto probe = build_model(c.arch, 0);
        const auto g = probe->site(name);
        for (int64_t add : {int64_t{1}, int64_t{3}, g.width}) {
          SCOPED_TRACE(c.arch.kind + " " + strategy + " " + name + " +" + std::to_string(add));
          auto m = sprout::testing::trained_looking_model(c.arch, 9);
          LoneCommunicator comm;
          sprout::testing::GrowOptions go;
          go.strategy = strategy;
          const std::string refusal = make_strategy(strategy)->refusal_to_add(g, add);
          EXPECT_EQ(refusal.empty(), accepts(strategy, g, add)) << refusal;
          if (!refusal.empty()) {
            try {
              sprout::testing::grow_site(comm, *m, name, add, &b, nullptr, go);
              ADD_FAILURE() << "grew a refused group";
            } catch (const ConfigError& e) {
              const std::string expected = "--growth.strategy " + strategy + " cannot grow site " + name + ": ";
              EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
              EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);  // one line
            }
            continue;
          }
          torch::NoGradGuard no_grad;
          const auto before = m->forward(x, false);
          const auto widths = m->group_widths();
          {
            torch::AutoGradMode grad(true);
            sprout::testing::grow_site(comm, *m, name, add, &b, nullptr, go);
          }
          EXPECT_EQ(m->site(name).width, widths.at(name) + add);
          const auto after = m->forward(x, false);
          EXPECT_LT(sprout::testing::max_rel_diff(after, before), 1e-5);
          // Train mode runs on the grown tensors (shapes agree everywhere).
          EXPECT_EQ(m->forward(x, true).sizes(), before.sizes());
          // The grown architecture rebuilds the same model.
          auto r = rebuilt(*m);
          EXPECT_EQ(r->arch(), m->arch());
          EXPECT_TRUE(r->forward(x, false).equal(m->forward(x, false)));
          // The family's cost model follows the grown widths.
          double numel = 0;
          for (const auto& t : m->params().parameters()) numel += static_cast<double>(t.numel());
          EXPECT_EQ(estimate_training_memory(m->arch(), 4, 1).parameters, numel);
        }
      }
    }
  }
}

TEST(WidthGroups, RefusalsNameTheGroupAndTheReason) {
  auto m = build_model(sprout::testing::resnet_arch(), 0);
  EXPECT_NE(make_strategy("gradmax")->refusal(m->site("stage2")).find("it is a residual group"), std::string::npos);
  EXPECT_EQ(make_strategy("gradmax")->refusal(build_model(sprout::testing::vit_arch(), 0)->site("block1.heads")), "");
  auto v = build_model(sprout::testing::vit_arch(), 0);
  EXPECT_NE(make_strategy("vt")->refusal(v->site("block1.heads")).find("it is a heads group"), std::string::npos);
  EXPECT_NE(make_strategy("zeros")->refusal(v->site("stream")).find("LayerNorm"), std::string::npos);
  EXPECT_NE(make_strategy("net2net")->refusal_to_add(v->site("stream"), 3).find("multiple of its width 8 (got +3)"),
            std::string::npos);
  EXPECT_EQ(make_strategy("net2net")->refusal_to_add(v->site("stream"), 16), "");
  // Inner sites are unaffected.
  EXPECT_EQ(make_strategy("gradmax")->refusal(m->site("block1.conv1")), "");
}

// GradMax on a heads group: the new head's q, k, v rows are 0, and the gradient its rows
// receive is c·sqrt(σ1² + … + σ_{d_h}²) of the heads M — more than random proj columns of
// the same norm give.
TEST(WidthGroups, GradMaxOnHeadsTakesTheTopSingularDirections) {
  const auto arch = sprout::testing::vit_arch();  // dim 8, 2 heads of dimension 4
  const auto b = sprout::testing::random_batch(arch, 16, 3);
  auto probe = sprout::testing::trained_looking_model(arch, 7);
  const auto m_heads = heads_growth_matrix(*probe, probe->site("block2.heads"), b);
  ASSERT_EQ(m_heads.sizes(), (std::vector<int64_t>{8, 8}));
  const double expected = 0.5 * at::linalg_svdvals(m_heads).narrow(0, 0, 4).pow(2).sum().sqrt().item<double>();
  double norm[2];
  for (int i = 0; i < 2; ++i) {
    auto m = sprout::testing::trained_looking_model(arch, 7);
    LoneCommunicator comm;
    sprout::testing::GrowOptions go;
    go.strategy = i == 0 ? "gradmax" : "random";
    go.options.scale_mode = "fixed";
    go.options.scale = i == 0 ? 0.5 : 1.0;  // random: one row of the head's 4 columns, the same Frobenius norm
    sprout::testing::grow_site(comm, *m, "block2.heads", 1, &b, nullptr, go);
    EXPECT_TRUE(m->params().parameter("block2.qkv.weight").narrow(0, 24, 12).eq(0).all().item<bool>());
    const auto cols = m->params().parameter("block2.proj.weight").detach().narrow(1, 8, 4);  // (8, 4)
    if (i == 0) EXPECT_LT((cols.norm(2, {0}) - 0.5).abs().max().item<double>(), 1e-6);  // each column of norm c
    EXPECT_NEAR(cols.norm().item<double>(), 1.0, 1e-6);
    norm[i] = new_fan_in_grad_norm(comm, *m, m->site("block2.heads"), 2, b);
  }
  EXPECT_GT(expected, 0);
  EXPECT_NEAR(norm[0], expected, 1e-4 * expected);
  EXPECT_LT(norm[1], norm[0]);
}

// A new head by net2net is a copy of an old head: its q, k, v rows together.
TEST(WidthGroups, Net2NetCopiesWholeHeads) {
  auto m = sprout::testing::trained_looking_model(sprout::testing::vit_arch(), 4);
  const auto old = m->params().parameter("block1.qkv.weight").detach().clone();  // (2·3·4, 8)
  LoneCommunicator comm;
  sprout::testing::GrowOptions go;
  go.strategy = "net2net";
  sprout::testing::grow_site(comm, *m, "block1.heads", 1, nullptr, nullptr, go);
  const auto now = m->params().parameter("block1.qkv.weight").detach();
  ASSERT_EQ(now.size(0), 36);
  const auto added = now.narrow(0, 24, 12);
  EXPECT_TRUE(added.equal(old.narrow(0, 0, 12)) || added.equal(old.narrow(0, 12, 12)));
  EXPECT_EQ(m->params().parameter("block1.proj.weight").size(1), 12);
  EXPECT_EQ(m->arch().ints("block_heads"), (std::vector<int64_t>{3, 2}));
}

// Shrinking a group to its first units after zero-growth gives back the original model.
TEST(WidthGroups, ShrinkingUndoesZeroGrowth) {
  for (const auto& c : cases()) {
    for (const auto& name : c.groups) {
      SCOPED_TRACE(c.arch.kind + " " + name);
      auto m = sprout::testing::trained_looking_model(c.arch, 5);
      const auto x = torch::randn({4, c.arch.in_channels, c.arch.in_height, c.arch.in_width});
      const auto before = m->forward(x, false).detach();
      const auto arch = m->arch();
      const int64_t w = m->site(name).width;
      LoneCommunicator comm;
      sprout::testing::GrowOptions go;
      go.strategy = m->site(name).normalised_over_units ? "net2net" : "zeros";
      sprout::testing::grow_site(comm, *m, name, w, nullptr, nullptr, go);
      runtime::Surgery s(comm, m->params(), nullptr);
      s.quiesce(0);
      s.decide("shrink");
      auto plan = s.compute_on_root([&] { return shrink_plan(m->params(), m->site(name), w); });
      s.apply(plan);
      s.commit();
      EXPECT_EQ(m->arch(), arch);
      if (go.strategy == "zeros") EXPECT_TRUE(m->forward(x, false).detach().equal(before));
    }
  }
  auto m = build_model(sprout::testing::resnet_arch(), 0);
  try {
    shrink_plan(m->params(), m->site("stage2"), 0);
    ADD_FAILURE() << "kept 0 units";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("shrinking stage2: 0 units to keep is outside [1, 32]"), std::string::npos);
  }
}

// Every optimizer slot of every tensor a group touches keeps its old entries bit-exact
// through the group's growth, and its kept entries through the group's shrinking.
TEST(WidthGroups, OptimizerStateOfOldEntriesIsBitExactThroughGrowAndShrink) {
  for (const auto& c : cases()) {
    for (const auto& name : c.groups) {
      SCOPED_TRACE(c.arch.kind + " " + name);
      auto m = sprout::testing::trained_looking_model(c.arch, 6);
      runtime::OptimizerOptions oo;
      oo.name = "adamw";
      auto opt = runtime::make_optimizer(oo);
      const auto b = sprout::testing::random_batch(c.arch, 6, 8);
      at::cross_entropy_loss(m->forward(b.x, true), b.y).backward();
      std::vector<torch::Tensor> grads;
      for (const auto& p : m->params().parameters()) grads.push_back(p.grad());
      opt->step(m->params(), grads, 0.01);
      m->params().zero_grad();
      std::map<std::string, torch::Tensor> before;
      for (const auto& [param, slots] : opt->state()) before[param] = slots.at("exp_avg_sq").clone();

      const int64_t w = m->site(name).width, add = w;  // a multiple of the width: every strategy's case
      LoneCommunicator comm;
      sprout::testing::GrowOptions go;
      go.strategy = "net2net";
      const auto plan = sprout::testing::grow_site(comm, *m, name, add, nullptr, opt.get(), go);
      ASSERT_FALSE(plan.parameters.empty());
      for (const auto& [param, value] : plan.parameters) {
        const auto& old = before.at(param);
        auto now = opt->slots(param).at("exp_avg_sq");
        ASSERT_NE(now.sizes(), old.sizes()) << param << " did not grow";
        for (int64_t d = 0; d < old.dim(); ++d) now = now.narrow(d, 0, old.size(d));
        EXPECT_TRUE(now.equal(old)) << param;
      }
      std::map<std::string, torch::Tensor> grown;
      for (const auto& [param, slots] : opt->state()) grown[param] = slots.at("exp_avg_sq").clone();
      runtime::Surgery s(comm, m->params(), opt.get());
      s.quiesce(0);
      s.decide("shrink");
      const auto shrink = s.compute_on_root([&] { return shrink_plan(m->params(), m->site(name), w - 1); });
      s.apply(shrink);
      s.commit();
      EXPECT_EQ(m->site(name).width, w - 1);
      for (const auto& [param, value] : shrink.parameters) {
        const auto now = opt->slots(param).at("exp_avg_sq");
        ASSERT_EQ(now.sizes(), value.sizes()) << param;
        auto kept = grown.at(param);
        for (int64_t d = 0; d < now.dim(); ++d) kept = kept.narrow(d, 0, now.size(d));
        EXPECT_TRUE(now.equal(kept)) << param;
      }
    }
  }
}

}  // namespace
}  // namespace sprout::growth
