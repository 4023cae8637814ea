// Slimmable execution: a sub-network at ratio r equals a separate narrow model holding the
// same (sliced) weights, with switchable batch-norm statistics private to each ratio.
#include "growth/slimmable/slimmable.h"

#include <gtest/gtest.h>

#include "growth/models/memory_estimate.h"
#include "growth/slimmable/gate.h"
#include "runtime/error.h"
#include "slicing.h"

namespace sprout::growth {
namespace {

using slicing::copy_sliced;
using slicing::max_diff;
using slicing::narrowed;

ArchSpec mlp_spec() {
  ArchSpec s;
  s.set_ints("widths", {16, 12});
  s.set_flag("batch_norm", true);
  return s;
}

ArchSpec cnn_spec() {
  ArchSpec s;
  s.kind = "cnn";
  s.set_ints("conv", {8, 12});
  s.set_ints("widths", {10});
  s.set_flag("batch_norm", true);
  return s;
}

// `shared_norm`: a batch-norm of the full model that a narrow training forward must not touch.
void expect_narrow_equals_separate(const ArchSpec& spec, const std::string& shared_norm = "bn_fc1") {
  SlimSpec ss;
  ss.attention = false;
  auto wide = build_model(spec, 1);
  SlimmableNet net(*wide, ss, 1);
  auto x = torch::randn({6, 1, 28, 28});
  {  // Give every ratio's statistics distinct values (a few training forwards).
    for (size_t i = 0; i < net.num_ratios(); ++i) {
      for (int k = 0; k < 3; ++k) net.forward(torch::randn({8, 1, 28, 28}) + static_cast<double>(i), i, true);
    }
  }
  for (size_t i = 0; i + 1 < net.num_ratios(); ++i) {
    const double r = net.ratio(i);
    const std::string sfx = norm_stats_suffix(r);
    auto narrow = build_model(narrowed(spec, r), 99);
    copy_sliced(wide->params(), narrow->params(), sfx);
    // Eval mode: running statistics of ratio r.
    EXPECT_LT(max_diff(net.forward(x, i, false), narrow->forward(x, false)), 1e-6) << spec.describe() << " r=" << r;
    // Train mode: batch statistics, and the update lands in ratio r's buffers only.
    auto full_mean_before = wide->params().buffer(shared_norm + ".running_mean").clone();
    EXPECT_LT(max_diff(net.forward(x, i, true), narrow->forward(x, true)), 1e-6) << spec.describe() << " r=" << r;
    for (const auto& s : narrow->sites()) {
      auto mine = wide->params().buffer(s.norm + ".running_mean" + sfx).narrow(0, 0, s.width);
      EXPECT_LT(max_diff(mine, narrow->params().buffer(s.norm + ".running_mean")), 1e-6) << s.norm;
      auto var = wide->params().buffer(s.norm + ".running_var" + sfx).narrow(0, 0, s.width);
      EXPECT_LT(max_diff(var, narrow->params().buffer(s.norm + ".running_var")), 1e-6) << s.norm;
    }
    EXPECT_TRUE(full_mean_before.equal(wide->params().buffer(shared_norm + ".running_mean"))) << shared_norm;
  }
  // Ratio 1 is the plain model.
  EXPECT_TRUE(net.forward(x, net.largest(), false).equal(wide->forward(x, false)));
}

TEST(Slimmable, MlpNarrowForwardEqualsSeparateNarrowModel) { expect_narrow_equals_separate(mlp_spec()); }
TEST(Slimmable, CnnNarrowForwardEqualsSeparateNarrowModel) { expect_narrow_equals_separate(cnn_spec()); }

// The residual stream's norms after the first block see other statistics at every width: a
// narrow ResNet in eval mode equals a separate narrow model only if they switch too.
TEST(Slimmable, ResNetNarrowForwardEqualsSeparateNarrowModel) {
  ArchSpec spec;
  spec.kind = "resnet";
  spec.set_ints("stages", {8, 16, 32});
  spec.set_integer("stem", 8);
  expect_narrow_equals_separate(spec, "bn_final");
  expect_narrow_equals_separate(spec, "block2.bn1");
}

TEST(Slimmable, ResNetAtFullWidthIsThePlainForward) {
  ArchSpec spec;
  spec.kind = "resnet";
  auto m = build_model(spec, 5);
  SlimSpec ss;
  ss.attention = false;
  SlimmableNet net(*m, ss, 5);
  EXPECT_EQ(net.active(0).at("stage3"), 16);  // the residual groups are slimmed: 64 · 0.25
  EXPECT_EQ(net.active(net.largest()).at("stage3"), 64);
  torch::NoGradGuard no_grad;
  for (int k = 0; k < 2; ++k) net.forward(torch::randn({6, 1, 28, 28}), net.num_ratios() - 1, true);
  const auto x = torch::randn({3, 1, 28, 28});
  EXPECT_EQ(net.forward(x, net.num_ratios() - 1, false).sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_TRUE(net.forward(x, net.num_ratios() - 1, false).equal(m->forward(x, false)));
  EXPECT_GT(max_diff(net.forward(x, 0, false), m->forward(x, false)), 1e-4);  // the narrowest differs
}

TEST(Slimmable, AttentionSlicesTheGateWeights) {
  auto spec = mlp_spec();
  auto wide = build_model(spec, 2);
  SlimmableNet net(*wide, SlimSpec{}, 2);
  const size_t i = 1;  // ratio 0.5
  const double r = net.ratio(i);
  auto narrow = build_model(narrowed(spec, r), 5);
  copy_sliced(wide->params(), narrow->params(), norm_stats_suffix(r));
  // The narrow model's gate: the reduction keeps its width R and reads k columns.
  const int64_t k = active_units(16, r), R = net.gate_reduced();
  runtime::ParamSet g;
  const auto& p = wide->params();
  g.add_parameter("gate.reduce.weight", p.parameter("gate.reduce.weight").narrow(1, 0, k).clone());
  g.add_parameter("gate.reduce.bias", p.parameter("gate.reduce.bias").clone());
  g.add_parameter("gate.attention.weight", p.parameter("gate.attention.weight").narrow(0, 0, k).clone());
  g.add_parameter("gate.attention.bias", p.parameter("gate.attention.bias").narrow(0, 0, k).clone());
  EXPECT_EQ(R, 4);
  ForwardOptions o;
  o.site_hook = [&](const std::string& site, const torch::Tensor& h) { return site == "fc1" ? gate_attend(g, h) : h; };
  auto x = torch::randn({5, 1, 28, 28});
  EXPECT_LT(max_diff(net.forward(x, i, false), narrow->forward(x, o)), 1e-6);
  // The attention changes the output (it is not an identity that would make this vacuous).
  EXPECT_GT(max_diff(net.forward(x, i, false), narrow->forward(x, false)), 1e-3);
}

TEST(Slimmable, KnownOutputsAreReusedNotRecomputed) {
  ArchSpec resnet, vit;
  resnet.kind = "resnet";
  vit.kind = "vit";
  vit.set_integer("depth", 2);
  for (const auto& spec : {mlp_spec(), cnn_spec(), resnet, vit}) {
    auto m = build_model(spec, 3);
    SlimmableNet net(*m, SlimSpec{}, 3);
    auto x = torch::randn({4, 1, 28, 28});
    auto pr = net.probe(x);
    const std::string first = net.gate_site().producer;
    // A ResNet slims its stem with stage 1, a ViT its stream and heads before the first MLP:
    // the probe is reused at the smallest ratio only.
    const size_t i = net.probe_reused(2) ? 2 : 0;
    EXPECT_EQ(i == 0, spec.kind == "resnet" || spec.kind == "vit") << spec.describe();
    auto o = net.options(i, false);
    std::map<std::string, torch::Tensor> known{{first, pr.raw}};
    o.known_outputs = &known;
    EXPECT_LT(max_diff(m->forward(x, o), net.forward(x, i, false)), 1e-5) << spec.describe();
    // Reuse really reads the given values: perturbing them changes the output.
    known[first] = pr.raw + 1.0;
    EXPECT_GT(max_diff(m->forward(x, o), net.forward(x, i, false)), 1e-4) << spec.describe();
  }
}

TEST(Slimmable, StatisticsBufferNamesAndUnits) {
  EXPECT_EQ(norm_stats_suffix(0.25), "_r0p25");
  EXPECT_EQ(norm_stats_suffix(0.5), "_r0p5");
  EXPECT_EQ(norm_stats_suffix(1.0), "");
  EXPECT_EQ(active_units(256, 0.25), 64);
  EXPECT_EQ(active_units(10, 0.3), 3);
  EXPECT_EQ(active_units(10, 0.35), 4);
  EXPECT_EQ(active_units(3, 0.1), 1);
  auto m = build_model(cnn_spec(), 4);
  SlimmableNet net(*m, SlimSpec{}, 4);
  const auto& p = m->params();
  EXPECT_TRUE(p.has_buffer("bn_conv1.running_mean_r0p25"));
  EXPECT_TRUE(p.has_buffer("bn_fc1.num_batches_tracked_r0p75"));
  EXPECT_FALSE(p.has_buffer("bn_fc1.running_mean_r1"));
  EXPECT_EQ(p.buffer("bn_conv2.running_var_r0p5").size(0), 12);  // full width
  EXPECT_TRUE(p.has_parameter("gate.head.weight"));
  EXPECT_EQ(p.parameter("gate.head.weight").sizes(), (std::vector<int64_t>{4, 2}));  // K=4, R=⌈0.25·8⌉
  EXPECT_EQ(net.active(0), (std::map<std::string, int64_t>{{"conv1", 2}, {"conv2", 3}, {"fc1", 3}}));
  // Wrapping again (a restored model) registers nothing twice.
  const size_t buffers = p.buffers().size(), params = p.num_parameters();
  SlimmableNet again(*m, SlimSpec{}, 4);
  EXPECT_EQ(p.buffers().size(), buffers);
  EXPECT_EQ(p.num_parameters(), params);
}

TEST(Slimmable, RatioListsAreValidated) {
  EXPECT_NO_THROW(validate_ratios({0.25, 1.0}, "slim.ratios"));
  EXPECT_THROW(validate_ratios({1.0}, "slim.ratios"), ConfigError);
  EXPECT_THROW(validate_ratios({0.5, 0.25, 1.0}, "slim.ratios"), ConfigError);
  EXPECT_THROW(validate_ratios({0.5, 0.5, 1.0}, "slim.ratios"), ConfigError);
  EXPECT_THROW(validate_ratios({0.0, 1.0}, "slim.ratios"), ConfigError);
  EXPECT_THROW(validate_ratios({0.5, 0.75}, "slim.ratios"), ConfigError);
  try {
    validate_ratios({0.5, 1.5}, "slim.ratios");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--slim.ratios: 1.5"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sprout::growth
