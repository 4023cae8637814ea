// The DS-Net gate: routing honours the chosen width per example, the probe is the smallest
// sub-network's first block, and the straight-through Gumbel-softmax is hard forward / soft
// backward.
#include "growth/slimmable/gate.h"

#include <gtest/gtest.h>

#include "growth/slimmable/slimmable.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {
namespace {

ArchSpec spec(const std::string& kind) {
  ArchSpec s;
  s.kind = kind;
  s.set_ints("widths", {16, 12});
  if (kind == "cnn") {
    s.set_ints("conv", {16, 12});
    s.set_ints("widths", {10});
  }
  s.set_flag("batch_norm", true);
  return s;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// A width head whose choice depends strongly on the input, so a batch spreads over widths.
void spread_gate(runtime::ParamSet& p) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  p.parameter("gate.head.weight").normal_(0, 10);
  p.parameter("gate.reduce.weight").normal_(0, 1);
  p.parameter("gate.reduce.bias").zero_();
}

class GateRouting : public ::testing::TestWithParam<std::string> {};

TEST_P(GateRouting, EveryExampleRunsAtItsChosenWidth) {
  auto m = build_model(spec(GetParam()), 7);
  SlimmableNet net(*m, SlimSpec{}, 7);
  spread_gate(m->params());
  torch::NoGradGuard no_grad;
  // Examples of different brightness and contrast: pooled features differ between examples.
  auto x = torch::randn({32, 1, 28, 28}) * 3 * torch::rand({32, 1, 1, 1}) + 2 * torch::randn({32, 1, 1, 1});
  auto routed = net.route(x);
  EXPECT_TRUE(routed.choice.equal(routed.gate_logits.argmax(1)));
  const auto used = std::get<0>(at::_unique(routed.choice));
  EXPECT_GE(used.numel(), 2) << "the test needs examples routed to different widths";
  for (int64_t n = 0; n < x.size(0); ++n) {
    const auto i = static_cast<size_t>(routed.choice[n].item<int64_t>());
    auto alone = net.forward(x.narrow(0, n, 1), i, false);  // (1, classes)
    EXPECT_LT(max_diff(routed.logits.narrow(0, n, 1), alone), 1e-5) << "example " << n << " ratio " << net.ratio(i);
    // ...and not at some other width (the comparison can tell widths apart).
    const size_t other = i == 0 ? net.largest() : 0;
    EXPECT_GT(max_diff(routed.logits.narrow(0, n, 1), net.forward(x.narrow(0, n, 1), other, false)), 1e-4);
  }
}

TEST_P(GateRouting, ForcedChoicesAreHonoured) {
  auto m = build_model(spec(GetParam()), 8);
  SlimmableNet net(*m, SlimSpec{}, 8);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({9, 1, 28, 28});
  auto choice = torch::tensor({3, 0, 1, 2, 2, 0, 3, 1, 0}, torch::kInt64);
  auto out = net.forward_routed(x, choice, net.probe(x).raw);
  for (size_t i = 0; i < net.num_ratios(); ++i) {
    auto all = net.forward(x, i, false);
    auto rows = choice.eq(static_cast<int64_t>(i)).nonzero().view({-1});
    EXPECT_LT(max_diff(out.index_select(0, rows), all.index_select(0, rows)), 1e-5) << "ratio " << net.ratio(i);
  }
}

TEST_P(GateRouting, ProbeIsTheSmallestSubnetworksFirstBlock) {
  SlimSpec ss;
  ss.attention = false;
  auto m = build_model(spec(GetParam()), 9);
  SlimmableNet net(*m, ss, 9);
  torch::NoGradGuard no_grad;
  for (int k = 0; k < 3; ++k) net.forward(torch::randn({8, 1, 28, 28}), 0, true);  // non-trivial statistics
  auto x = torch::randn({5, 1, 28, 28});
  torch::Tensor seen;
  auto o = net.options(0, false);
  o.site_hook = [&](const std::string& site, const torch::Tensor& h) {
    if (site == net.gate_site().name) seen = gate_pool(h);
    return h;
  };
  m->forward(x, o);
  EXPECT_LT(max_diff(net.probe(x).pooled, seen), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Kinds, GateRouting, ::testing::Values("mlp", "cnn", "resnet", "vit"));

TEST(Gate, GumbelSoftmaxIsHardForwardSoftBackward) {
  auto gen = compat::make_generator(3);
  auto logits = torch::randn({64, 4}).set_requires_grad(true);
  auto s = gumbel_softmax_hard(logits, 1.0, gen);
  // Forward: exact one-hot rows at the soft sample's argmax.
  EXPECT_TRUE(s.hard.detach().sum(1).eq(1).all().item<bool>());
  EXPECT_TRUE(s.hard.detach().argmax(1).equal(s.index));
  EXPECT_TRUE(s.soft.argmax(1).equal(s.index));
  EXPECT_TRUE(at::logical_or(s.hard.detach().eq(0), s.hard.detach().eq(1)).all().item<bool>());
  // Backward: the hard sample's gradient is the soft sample's.
  auto w = torch::randn({64, 4});
  (s.hard * w).sum().backward();
  auto g_hard = logits.grad().clone();
  auto twin = logits.detach().clone().set_requires_grad(true);
  auto gen_twin = compat::make_generator(3);
  (gumbel_softmax_hard(twin, 1.0, gen_twin).soft * w).sum().backward();
  EXPECT_LT(max_diff(g_hard, twin.grad()), 1e-6);
  EXPECT_GT(twin.grad().abs().max().item<double>(), 1e-4);
  // The noise makes samples differ from the argmax sometimes, and is seeded.
  auto gen2 = compat::make_generator(3);
  EXPECT_TRUE(gumbel_softmax_hard(logits.detach(), 1.0, gen2).index.equal(s.index));
  EXPECT_FALSE(s.index.equal(logits.argmax(1)));
}

TEST(GateConfidence, CumulativeRuleWidensWithTheConfidence) {
  auto m = build_model(spec("mlp"), 7);
  SlimmableNet net(*m, SlimSpec{}, 7);  // ratios 0.25, 0.5, 0.75, 1
  // Gate probabilities (rows): [0.5, 0.2, 0.2, 0.1] and [0.1, 0.1, 0.1, 0.7].
  const auto probs = torch::tensor({{0.5, 0.2, 0.2, 0.1}, {0.1, 0.1, 0.1, 0.7}}, torch::kFloat64);
  const auto logits = probs.log().to(torch::kFloat32);
  auto pick = [&](double c) {
    const auto ch = net.choose(logits, c);
    return std::vector<int64_t>{ch[0].item<int64_t>(), ch[1].item<int64_t>()};
  };
  EXPECT_EQ(pick(0), (std::vector<int64_t>{0, 3}));     // argmax
  EXPECT_EQ(pick(0.45), (std::vector<int64_t>{0, 3}));  // cumulative 0.45 reached at index 0 / 3
  EXPECT_EQ(pick(0.65), (std::vector<int64_t>{1, 3}));  // 0.5 + 0.2
  EXPECT_EQ(pick(0.85), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(pick(0.15), (std::vector<int64_t>{0, 1}));  // 0.1 + 0.1
  EXPECT_EQ(pick(1.0), (std::vector<int64_t>{3, 3}));   // never past the largest, whatever the rounding
  EXPECT_THROW(net.choose(logits, 1.5), sprout::ConfigError);
  // Monotone: a larger confidence never routes an example to a narrower width.
  torch::manual_seed(3);
  const auto random = torch::randn({200, 4}) * 3;
  auto prev = net.choose(random, 0.05);
  for (double c = 0.1; c <= 1.0; c += 0.05) {
    const auto now = net.choose(random, c);
    EXPECT_TRUE(now.ge(prev).all().item<bool>()) << "confidence " << c;
    prev = now;
  }
}

}  // namespace
}  // namespace sprout::growth
