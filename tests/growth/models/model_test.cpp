#include "growth/models/model.h"

#include <gtest/gtest.h>

#include "growth/models/layers.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

ArchSpec mlp_spec(std::vector<int64_t> widths) {
  ArchSpec s;
  s.set_ints("widths", std::move(widths));
  return s;
}

ArchSpec cnn_spec() {
  ArchSpec s;
  s.kind = "cnn";
  s.set_ints("conv", {8, 16});
  s.set_ints("widths", {32});
  return s;
}

TEST(Model, MlpShapesNamesAndSites) {
  auto m = build_model(mlp_spec({64, 32}), 1);
  const auto& names = m->params().parameter_names();
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight",
                                              "fc3.bias"}));
  EXPECT_EQ(m->params().parameter("fc1.weight").sizes(), (std::vector<int64_t>{64, 784}));
  EXPECT_EQ(m->params().parameter("fc3.weight").sizes(), (std::vector<int64_t>{10, 32}));
  auto out = m->forward(torch::randn({5, 1, 28, 28}), false);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{5, 10}));
  const auto sites = m->sites();
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].name, "fc1");
  EXPECT_EQ(sites[0].consumer, "fc2");
  EXPECT_EQ(sites[0].width, 64);
  EXPECT_EQ(sites[1].consumer, "fc3");
  EXPECT_EQ(m->widths(), (std::map<std::string, int64_t>{{"fc1", 64}, {"fc2", 32}}));
  EXPECT_THROW(m->site("fc3"), ConfigError);
}

TEST(Model, CnnShapesAndFlattenBoundary) {
  auto m = build_model(cnn_spec(), 2);
  EXPECT_EQ(m->params().parameter("conv1.weight").sizes(), (std::vector<int64_t>{8, 1, 3, 3}));
  EXPECT_EQ(m->params().parameter("conv2.weight").sizes(), (std::vector<int64_t>{16, 8, 3, 3}));
  EXPECT_EQ(m->params().parameter("fc1.weight").sizes(), (std::vector<int64_t>{32, 16 * 7 * 7}));
  auto out = m->forward(torch::randn({3, 1, 28, 28}), true);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 10}));
  const auto conv2 = m->site("conv2");
  EXPECT_EQ(conv2.consumer, "fc1");
  EXPECT_EQ(conv2.consumer_group, 49);
  EXPECT_EQ(m->site("conv1").consumer, "conv2");
  EXPECT_EQ(m->site("conv1").consumer_group, 1);
  EXPECT_EQ(m->site_names(), (std::vector<std::string>{"conv1", "conv2", "fc1"}));
}

TEST(Model, BatchNormIsRegisteredPerSite) {
  auto spec = cnn_spec();
  spec.set_flag("batch_norm", true);
  auto m = build_model(spec, 3);
  EXPECT_TRUE(m->params().has_parameter("bn_conv1.weight"));
  EXPECT_TRUE(m->params().has_buffer("bn_fc1.running_var"));
  EXPECT_EQ(m->site("conv2").norm, "bn_conv2");
  auto before = m->params().buffer("bn_conv1.running_mean").clone();
  m->forward(torch::randn({4, 1, 28, 28}), true);
  EXPECT_FALSE(before.equal(m->params().buffer("bn_conv1.running_mean")));  // stats updated in place
}

TEST(Model, SameSeedSameInitialisation) {
  auto a = build_model(mlp_spec({16}), 5);
  auto b = build_model(mlp_spec({16}), 5);
  auto c = build_model(mlp_spec({16}), 6);
  EXPECT_TRUE(a->params().parameter("fc1.weight").equal(b->params().parameter("fc1.weight")));
  EXPECT_FALSE(a->params().parameter("fc1.weight").equal(c->params().parameter("fc1.weight")));
  // PyTorch's default bound 1/sqrt(fan_in).
  EXPECT_LE(a->params().parameter("fc1.weight").abs().max().item<double>(), 1.0 / 28.0);
}

TEST(Model, ActivationGradientAtZeroIsOne) {
  // Growth from zero fan-in relies on f'(0) = 1 (growth/README.md "GradMax"); torch::relu gives 0.
  auto x = torch::zeros({3}, torch::requires_grad());
  activation(x).sum().backward();
  EXPECT_TRUE(x.grad().eq(1).all().item<bool>());
  auto y = torch::zeros({3}, torch::requires_grad());
  torch::relu(y).sum().backward();
  EXPECT_TRUE(y.grad().eq(0).all().item<bool>());
}

TEST(Model, SlicedForwardEqualsNarrowModel) {
  auto wide = build_model(mlp_spec({8, 6}), 7);
  auto narrow = build_model(mlp_spec({5, 4}), 8);
  auto& np = narrow->params();
  const auto& wp = wide->params();
  np.set_parameter("fc1.weight", wp.parameter("fc1.weight").narrow(0, 0, 5).clone());
  np.set_parameter("fc1.bias", wp.parameter("fc1.bias").narrow(0, 0, 5).clone());
  np.set_parameter("fc2.weight", wp.parameter("fc2.weight").narrow(0, 0, 4).narrow(1, 0, 5).clone());
  np.set_parameter("fc2.bias", wp.parameter("fc2.bias").narrow(0, 0, 4).clone());
  np.set_parameter("fc3.weight", wp.parameter("fc3.weight").narrow(1, 0, 4).clone());
  np.set_parameter("fc3.bias", wp.parameter("fc3.bias").clone());
  std::map<std::string, int64_t> active{{"fc1", 5}, {"fc2", 4}};
  ForwardOptions o;
  o.active = &active;
  auto x = torch::randn({4, 1, 28, 28});
  EXPECT_TRUE(wide->forward(x, o).allclose(narrow->forward(x, false), 1e-6, 1e-6));
}

TEST(Model, TraceRecordsInputsAndOutputGradients) {
  auto m = build_model(mlp_spec({8}), 9);
  ForwardTrace trace;
  ForwardOptions o;
  o.trace = &trace;
  auto out = m->forward(torch::randn({2, 1, 28, 28}), o);
  out.sum().backward();
  ASSERT_TRUE(trace.inputs.count("fc2"));
  EXPECT_EQ(trace.inputs["fc2"].sizes(), (std::vector<int64_t>{2, 8}));
  ASSERT_TRUE(trace.outputs["fc2"].grad().defined());
  EXPECT_TRUE(trace.outputs["fc2"].grad().eq(1).all().item<bool>());
}

TEST(Arch, SerializeRoundTripAndValidation) {
  auto s = cnn_spec();
  s.set_flag("batch_norm", true);
  const auto back = ArchSpec::parse(s.serialize());
  EXPECT_EQ(back.serialize(), complete(s).serialize());  // parse() completes
  EXPECT_EQ(back.ints("conv"), s.ints("conv"));
  EXPECT_TRUE(back.flag("batch_norm"));
  EXPECT_EQ(s.describe(), "cnn 1x28x28 c8-c16 784-32-10 bn");
  EXPECT_EQ(mlp_spec({256, 256}).describe(), "mlp 784-256-256-10");
  auto bad = mlp_spec({256, -1});
  try {
    validate(bad);
    FAIL() << "negative width accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.widths"), std::string::npos);
  }
  auto deep = cnn_spec();
  deep.set_ints("conv", {4, 4, 4, 4, 4, 4});
  EXPECT_THROW(validate(deep), ConfigError);
  EXPECT_THROW(ArchSpec::parse("kind=mlp;widths=1,x"), ConfigError);
  EXPECT_THROW(parse_int_list("3,,4", "model.widths"), ConfigError);
}

}  // namespace
}  // namespace sprout::growth
