// The resnet family (growth/models/resnet.cpp): shapes, names, sites, settings and a
// rebuild from its checkpoint text. Growth on its sites is tested with every strategy in
// tests/growth/strategies/, slimmable execution and the gate in tests/growth/slimmable/.
#include <gtest/gtest.h>

#include "growth/models/family.h"
#include "growth/models/macs.h"
#include "growth/models/model.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

ArchSpec resnet(int64_t depth = 10, int64_t widen = 1) {
  ArchSpec s;
  s.kind = "resnet";
  s.set_integer("depth", depth);
  s.set_integer("widen", widen);
  return s;
}

std::string error_of(const ArchSpec& s) {
  try {
    build_model(s, 0);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ResNet, ShapesNamesAndSites) {
  auto m = build_model(resnet(16, 2), 1);  // n = 2 blocks per stage, stages 32, 64, 128
  EXPECT_EQ(m->forward(torch::randn({3, 1, 28, 28}), true).sizes(), (std::vector<int64_t>{3, 10}));
  const auto& p = m->params();
  EXPECT_EQ(p.parameter("stem.weight").sizes(), (std::vector<int64_t>{16, 1, 3, 3}));
  EXPECT_EQ(p.parameter("block1.conv1.weight").sizes(), (std::vector<int64_t>{32, 16, 3, 3}));
  EXPECT_EQ(p.parameter("block1.shortcut.weight").sizes(), (std::vector<int64_t>{32, 16, 1, 1}));  // 16 -> 32
  EXPECT_FALSE(p.has_parameter("block2.shortcut.weight"));  // identity
  EXPECT_EQ(p.parameter("block3.shortcut.weight").sizes(), (std::vector<int64_t>{64, 32, 1, 1}));  // stride 2
  EXPECT_EQ(p.parameter("block6.conv2.weight").sizes(), (std::vector<int64_t>{128, 128, 3, 3}));
  EXPECT_EQ(p.parameter("fc.weight").sizes(), (std::vector<int64_t>{10, 128}));
  const auto sites = m->sites();
  ASSERT_EQ(sites.size(), 6u);
  EXPECT_EQ(sites[2].name, "block3.conv1");
  EXPECT_EQ(sites[2].norm, "block3.bn2");
  EXPECT_EQ(sites[2].consumer, "block3.conv2");
  EXPECT_EQ(sites[2].stride, 2);
  EXPECT_EQ(sites[1].stride, 1);
  EXPECT_EQ(m->arch().params.at("inner"), "32,32,64,64,128,128");
  EXPECT_EQ(m->arch().describe(), "resnet-16-2 1x28x28 stages 32-64-128 -> 10");
}

TEST(ResNet, InnerWidthsGrowAndRebuildFromTheCheckpointText) {
  auto s = resnet();
  s.set_ints("inner", {5, 40, 9});
  auto m = build_model(s, 4);
  EXPECT_EQ(m->widths(), (std::map<std::string, int64_t>{{"block1.conv1", 5}, {"block2.conv1", 40}, {"block3.conv1", 9}}));
  const auto back = ArchSpec::parse(m->arch().serialize());
  EXPECT_EQ(back.describe(), "resnet-10-1 1x28x28 stages 16-32-64 inner 5,40,9 -> 10");
  auto rebuilt = build_model(back, 4);
  ASSERT_EQ(rebuilt->params().parameter_names(), m->params().parameter_names());
  for (size_t i = 0; i < m->params().num_parameters(); ++i) {
    EXPECT_TRUE(rebuilt->params().parameter(i).equal(m->params().parameter(i))) << m->params().parameter_name(i);
  }
  const auto x = torch::randn({2, 1, 28, 28});
  EXPECT_TRUE(rebuilt->forward(x, false).equal(m->forward(x, false)));
  EXPECT_EQ(continuation_mismatch(back, complete(resnet())), "");  // a grown run resumes as the configured one
  EXPECT_NE(continuation_mismatch(back, complete(resnet(16))).find("width sites differ"), std::string::npos);
  EXPECT_NE(continuation_mismatch(back, complete(resnet(10, 2))).find("model.widen differs"), std::string::npos);
}

TEST(ResNet, MacsFollowTheActiveInnerWidths) {
  const auto s = complete(resnet());
  const int64_t full = macs_per_example(s);
  const int64_t narrow = macs_per_example(s, {{"block2.conv1", 16}});
  // block2: conv1 32 -> 16 channels at 14×14 halves both of its convolutions.
  EXPECT_EQ(full - narrow, (16 * 16 * 9 + 16 * 32 * 9) * 14 * 14);
}

TEST(ResNet, BadSettingsAreNamed) {
  EXPECT_NE(error_of(resnet(12)).find("model.depth: 12 is not 6n+4"), std::string::npos);
  EXPECT_NE(error_of(resnet(4)).find("model.depth: 4"), std::string::npos);
  EXPECT_NE(error_of(resnet(10, 0)).find("model.widen: 0 must be in [1, 64]"), std::string::npos);
  auto s = resnet();
  s.set_ints("inner", {8, 8});
  EXPECT_NE(error_of(s).find("model.inner: '8,8' has 2 widths; depth 10 has 3 blocks"), std::string::npos);
  s.set_ints("inner", {8, 0, 8});
  EXPECT_NE(error_of(s).find("model.inner: every width must be > 0"), std::string::npos);
}

}  // namespace
}  // namespace sprout::growth
