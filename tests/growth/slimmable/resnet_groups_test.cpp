// Slimmable execution of a ResNet's residual groups (stage1..stage3): the stem, the shortcuts,
// every block's conv2 and the batch-norms along the stream run at the ratio's active width,
// and the sub-network equals a separately built narrow ResNet holding the sliced weights and
// the ratio's statistics; its MACs are the narrow model's.
#include <gtest/gtest.h>

#include "growth/models/macs.h"
#include "growth/models/memory_estimate.h"
#include "growth/slimmable/slimmable.h"
#include "slicing.h"

namespace sprout::growth {
namespace {

using slicing::copy_sliced;
using slicing::max_diff;
using slicing::narrowed;

// stem tied to stage 1 (block 1's shortcut is the identity), or of its own width (block 1
// projects): both ways the stem meets the first stage.
ArchSpec resnet(int64_t stem) {
  ArchSpec s;
  s.kind = "resnet";
  s.set_ints("stages", {8, 12, 16});
  s.set_ints("inner", {6, 10, 12});
  s.set_integer("stem", stem);
  return s;
}

class ResNetGroups : public ::testing::TestWithParam<int64_t> {};

TEST_P(ResNetGroups, NarrowForwardEqualsSeparateNarrowModel) {
  const auto spec = resnet(GetParam());
  SlimSpec ss;
  ss.attention = false;
  auto wide = build_model(spec, 1);
  SlimmableNet net(*wide, ss, 1);
  ASSERT_EQ(wide->slimmable_groups(), (std::vector<std::string>{"stage1", "stage2", "stage3"}));
  for (size_t i = 0; i < net.num_ratios(); ++i) {  // every ratio's statistics distinct
    for (int k = 0; k < 3; ++k) net.forward(torch::randn({8, 1, 28, 28}) + static_cast<double>(i), i, true);
  }
  const auto x = torch::randn({6, 1, 28, 28});
  for (size_t i = 0; i + 1 < net.num_ratios(); ++i) {
    const double r = net.ratio(i);
    SCOPED_TRACE(spec.describe() + " r=" + std::to_string(r));
    EXPECT_EQ(net.active(i).at("stage2"), active_units(12, r));
    auto narrow = build_model(narrowed(spec, r), 99);
    ASSERT_EQ(narrow->arch().ints("stages"), (std::vector<int64_t>{active_units(8, r), active_units(12, r),
                                                                    active_units(16, r)}));
    copy_sliced(wide->params(), narrow->params(), norm_stats_suffix(r));
    EXPECT_LT(max_diff(net.forward(x, i, false), narrow->forward(x, false)), 1e-5);
    // MACs: the narrow model's, fewer than with the stream at full width.
    EXPECT_EQ(net.macs(i), macs_per_example(narrow->arch()));
    auto inner_only = net.active(i);
    for (const auto& g : wide->slimmable_groups()) inner_only.erase(g);
    EXPECT_LT(net.macs(i), macs_per_example(wide->arch(), inner_only));
    // Train mode: batch statistics; the update lands in the ratio's buffers of every
    // batch-norm along the stream, as in the narrow model's own.
    const auto full_before = wide->params().buffer("block2.bn1.running_mean").clone();
    EXPECT_LT(max_diff(net.forward(x, i, true), narrow->forward(x, true)), 1e-5);
    for (const auto& bn : {"block1.bn1", "block2.bn1", "block3.bn1", "bn_final"}) {
      const std::string name = std::string(bn) + ".running_mean";
      const auto& mine = narrow->params().buffer(name);
      if (GetParam() != 8 && std::string(bn) == "block1.bn1") {  // reads the stem's own, unslimmed width
        EXPECT_FALSE(wide->params().has_buffer(name + norm_stats_suffix(r)));
        continue;
      }
      EXPECT_LT(max_diff(wide->params().buffer(name + norm_stats_suffix(r)).narrow(0, 0, mine.size(0)), mine), 1e-5)
          << bn;
    }
    EXPECT_TRUE(full_before.equal(wide->params().buffer("block2.bn1.running_mean")));
  }
  EXPECT_TRUE(net.forward(x, net.largest(), false).equal(wide->forward(x, false)));
}

// 8: the stem is stage 1's width (a producer of stage1); 5: the stem has its own width,
// block 1 projects it, and block 1's bn1 keeps one set of statistics.
INSTANTIATE_TEST_SUITE_P(Stems, ResNetGroups, ::testing::Values(8, 5));

TEST(ResNetGroups, RatioStatisticsForEveryBatchNormAlongTheStream) {
  auto m = build_model(resnet(8), 2);
  make_slimmable(*m, SlimSpec{}, 2);
  const auto& p = m->params();
  for (const auto& bn : {"block1.bn1", "block2.bn1", "block3.bn1", "bn_final", "block1.bn2"}) {
    for (const auto& sfx : {"_r0p25", "_r0p5", "_r0p75"}) {
      EXPECT_TRUE(p.has_buffer(std::string(bn) + ".running_var" + sfx)) << bn << sfx;
      EXPECT_TRUE(p.has_buffer(std::string(bn) + ".num_batches_tracked" + sfx)) << bn << sfx;
    }
  }
  EXPECT_EQ(p.buffer("bn_final.running_mean_r0p25").size(0), 16);  // full width
  // The stem of its own width: block 1's bn1 reads it whole at every ratio.
  auto own = build_model(resnet(5), 2);
  make_slimmable(*own, SlimSpec{}, 2);
  EXPECT_FALSE(own->params().has_buffer("block1.bn1.running_mean_r0p25"));
  EXPECT_TRUE(own->params().has_buffer("block2.bn1.running_mean_r0p25"));
}

TEST(ResNetGroups, RoutedMacsCountTheProbeWhereItIsNotReused) {
  auto m = build_model(resnet(8), 3);
  SlimmableNet net(*m, SlimSpec{}, 3);
  EXPECT_TRUE(net.probe_reused(0));
  EXPECT_FALSE(net.probe_reused(1));  // block 1's conv1 reads more stem channels at ratio 0.5
  // The probe: the stem at stage 1's smallest width, then conv1's first units.
  const int64_t k = net.active(0).at("block1.conv1"), s = net.active(0).at("stage1");
  EXPECT_EQ(net.probe_macs(), 1 * s * 9 * 28 * 28 + s * k * 9 * 28 * 28);
  EXPECT_EQ(net.routed_macs(0), net.macs(0));
  EXPECT_EQ(net.routed_macs(2), net.macs(2) + net.probe_macs());
}

}  // namespace
}  // namespace sprout::growth
