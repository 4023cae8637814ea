// Adaptive width on a ResNet's residual group (stage2): its importances multiply the stage's
// units where they meet weights (equal to scaling the consumers' input columns), truncation
// drops trailing units, and a width change goes through the group surgery with the optimizer
// state of kept entries bit-exact; a group the model does not slim is refused with one line.
#include <gtest/gtest.h>

#include "growth/adaptive/adaptive.h"
#include "growth/site_resize.h"
#include "../growth_test_util.h"
#include "runtime/error.h"
#include "runtime/optim/optimizer.h"

namespace sprout::growth {
namespace {

using sprout::testing::LoneCommunicator;
using sprout::testing::resnet_arch;
using sprout::testing::trained_looking_model;

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// resnet_arch's stage2 (32 channels) with a rate other than the initial one.
std::unique_ptr<Model> adaptive_stage2(uint64_t seed) {
  auto m = trained_looking_model(resnet_arch(), seed);
  AdaptiveSpec spec;
  spec.sites = {"stage2"};
  make_adaptive(*m, spec);
  torch::NoGradGuard g;
  m->params().parameter(rate_parameter("stage2")).add_(0.7);  // λ larger: importances fall faster
  return m;
}

TEST(AdaptiveGroups, ImportancesScaleTheStageWhereItsUnitsMeetWeights) {
  auto m = adaptive_stage2(1);
  EXPECT_EQ(adaptive_sites(*m), (std::vector<std::string>{"stage2"}));
  EXPECT_LT(target_widths(*m, {}).at("stage2"), 32);  // the larger rate truncates earlier
  const auto x = torch::randn({4, 2, 8, 8});
  const auto scaled = adaptive_forward(*m, x, {}, 1e-3);
  EXPECT_GT(max_diff(scaled, m->forward(x, false)), 1e-4) << "the importances must be applied";
  // The same as a plain forward whose stage2 consumers (block 3's conv1 and 1×1 shortcut,
  // after block 3's bn1) read columns multiplied by p̂.
  const auto p = unit_scales(*m, 1e-3).at("stage2").detach();
  ASSERT_EQ(p.size(0), 32);
  auto copy = build_model(m->arch(), 5);
  {
    torch::NoGradGuard g;
    for (size_t i = 0; i < copy->params().num_parameters(); ++i) {
      copy->params().parameter(i).copy_(m->params().parameter(copy->params().parameter_name(i)));
    }
    for (size_t i = 0; i < copy->params().buffers().size(); ++i) {
      copy->params().buffers()[i].copy_(m->params().buffer(copy->params().buffer_names()[i]));
    }
    for (const auto& consumer : m->site("stage2").consumers) {
      copy->params().parameter(consumer.tensor).mul_(p.view({1, -1, 1, 1}));
    }
  }
  EXPECT_LT(max_diff(scaled, copy->forward(x, false)), 1e-5);
}

TEST(AdaptiveGroups, TruncationKeepsTheLeadingUnits) {
  auto m = adaptive_stage2(2);
  const auto x = torch::randn({4, 2, 8, 8});
  ForwardOptions o;
  const auto full = adaptive_forward(*m, x, o, 1e-3);
  std::map<std::string, int64_t> active{{"stage2", 32}};
  o.active = &active;
  EXPECT_TRUE(adaptive_forward(*m, x, o, 1e-3).equal(full));
  active["stage2"] = 24;
  const auto fewer = adaptive_forward(*m, x, o, 1e-3);
  EXPECT_GT(max_diff(fewer, full), 0) << "truncation must change something";
  active["stage2"] = 4;
  EXPECT_GT(max_diff(adaptive_forward(*m, x, o, 1e-3), full), max_diff(fewer, full)) << "more units dropped, more change";
}

TEST(AdaptiveGroups, WidthChangeIsAGroupSurgeryKeepingOptimizerState) {
  auto m = adaptive_stage2(3);
  runtime::OptimizerOptions oo;
  oo.name = "adamw";
  auto opt = runtime::make_optimizer(oo);
  const auto b = sprout::testing::random_batch(resnet_arch(), 6, 8);
  at::cross_entropy_loss(adaptive_forward(*m, b.x, {}, 1e-3), b.y).backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : m->params().parameters()) grads.push_back(p.grad());
  opt->step(m->params(), grads, 0.01);
  m->params().zero_grad();
  std::map<std::string, torch::Tensor> before, values;
  for (const auto& [param, slots] : opt->state()) before[param] = slots.at("exp_avg_sq").clone();
  for (const auto& s : m->site("stage2").producers) values[s.tensor] = m->params().parameter(s.tensor).clone();
  const auto group_before = read_group(m->params(), m->site("stage2"));

  LoneCommunicator comm;
  {  // Shrink to 20: every tensor of the group keeps its leading entries, state included.
    runtime::Surgery surgery(comm, m->params(), opt.get());
    const auto changed = adapt_widths(surgery, *m, {{"stage2", 20}}, 5, 1.0, 11);
    EXPECT_EQ(changed, (std::map<std::string, int64_t>{{"stage2", 32}}));
  }
  EXPECT_EQ(m->site("stage2").width, 20);
  EXPECT_EQ(m->arch().ints("stages"), (std::vector<int64_t>{16, 20, 64}));
  EXPECT_TRUE(read_group(m->params(), m->site("stage2")).fan_in.equal(group_before.fan_in.narrow(0, 0, 20)));
  EXPECT_TRUE(read_group(m->params(), m->site("stage2")).fan_out.equal(group_before.fan_out.narrow(0, 0, 20)));
  for (const auto& s : m->site("stage2").producers) {
    auto now = opt->slots(s.tensor).at("exp_avg_sq");
    auto kept = before.at(s.tensor);
    ASSERT_EQ(now.size(0), 20) << s.tensor;
    for (int64_t d = 0; d < now.dim(); ++d) kept = kept.narrow(d, 0, now.size(d));
    EXPECT_TRUE(now.equal(kept)) << s.tensor;
  }
  for (const auto& s : m->site("stage2").consumers) {
    auto now = opt->slots(s.tensor).at("exp_avg_sq");
    EXPECT_TRUE(now.equal(before.at(s.tensor).narrow(1, 0, 20))) << s.tensor;
  }
  EXPECT_EQ(adaptive_forward(*m, torch::randn({2, 2, 8, 8}), {}, 1e-3).sizes(), torch::IntArrayRef({2, 10}));

  {  // Grow to 26: the 20 kept units stay, 6 new ones drawn at random.
    runtime::Surgery surgery(comm, m->params(), opt.get());
    adapt_widths(surgery, *m, {{"stage2", 26}}, 6, 1.0, 12);
  }
  EXPECT_EQ(m->site("stage2").width, 26);
  const auto grown = read_group(m->params(), m->site("stage2"));
  EXPECT_TRUE(grown.fan_in.narrow(0, 0, 20).equal(group_before.fan_in.narrow(0, 0, 20)));
  EXPECT_GT(grown.fan_in.narrow(0, 20, 6).abs().sum().item<double>(), 0) << "new units are random";
  EXPECT_EQ(adaptive_forward(*m, torch::randn({2, 2, 8, 8}), {}, 1e-3).sizes(), torch::IntArrayRef({2, 10}));
}

// A ResNet that does not declare its groups slimmable: adaptive width has no way to apply
// importances to them and must refuse them.
class WithoutSlimmableGroups final : public Model {
 public:
  explicit WithoutSlimmableGroups(std::unique_ptr<Model> m) : m_(std::move(m)) {}
  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override { return m_->forward(x, o); }
  std::vector<WidthSite> sites() const override { return m_->sites(); }
  std::vector<WidthSite> groups() const override { return m_->groups(); }
  ArchSpec arch() const override { return m_->arch(); }

 private:
  std::unique_ptr<Model> m_;
};

TEST(AdaptiveGroups, AGroupTheModelDoesNotSlimIsRefusedWithOneLine) {
  WithoutSlimmableGroups m(build_model(resnet_arch(), 1));
  AdaptiveSpec spec;
  spec.sites = {"stage2"};
  try {
    make_adaptive(m, spec);
    FAIL() << "no error for a group the model does not slim";
  } catch (const sprout::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--model.adaptive_sites: 'stage2' is a residual width group this model does not slim or scale per unit; "
              "adaptive width acts on (block1.conv1, block2.conv1, block3.conv1)");
  }
}

}  // namespace
}  // namespace sprout::growth
