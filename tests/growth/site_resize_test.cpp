// Site tensors: the unit-major form round-trips to the model's layout, and the
// Conv→flatten→Linear boundary gives channel c the consumer columns [c·g, (c+1)·g).
#include "growth/site_resize.h"

#include <gtest/gtest.h>

#include "growth_test_util.h"

namespace sprout::growth {
namespace {

TEST(SiteResize, ReadThenWriteReproducesTheModelBitForBit) {
  for (bool bn : {false, true}) {
    for (const auto& arch : {sprout::testing::mlp_arch(bn), sprout::testing::cnn_arch(bn)}) {
      auto m = sprout::testing::trained_looking_model(arch, 1);
      for (const auto& site : m->sites()) {
        SCOPED_TRACE(arch.describe() + " " + site.name);
        runtime::SurgeryPlan plan;
        write_site(m->params(), site, read_site(m->params(), site), plan);
        EXPECT_EQ(plan.parameters.size(), bn ? 5u : 3u);
        for (const auto& [name, t] : plan.parameters) EXPECT_TRUE(t.equal(m->params().parameter(name))) << name;
        for (const auto& [name, t] : plan.buffers) EXPECT_TRUE(t.equal(m->params().buffer(name))) << name;
      }
    }
  }
}

TEST(SiteResize, FlattenBoundaryChannelOwnsItsBlockOfColumns) {
  const auto arch = sprout::testing::cnn_arch(false);  // conv2: 4 channels of 2x2 -> fc1 (6, 16)
  auto m = growth::build_model(arch, 2);
  const auto site = m->site("conv2");
  ASSERT_EQ(site.consumer, "fc1");
  ASSERT_EQ(site.consumer_group, 4);
  const auto t = read_site(m->params(), site);
  const auto& w = m->params().parameter("fc1.weight");  // (6, 4·4)
  EXPECT_EQ(t.fan_out.sizes(), (std::vector<int64_t>{4, 6 * 4}));
  for (int64_t ch = 0; ch < 4; ++ch) {
    EXPECT_TRUE(t.fan_out[ch].equal(w.narrow(1, ch * 4, 4).reshape({-1}))) << "channel " << ch;
  }
  // Growing appends whole blocks after the old columns.
  auto units = new_units(t, 2);
  units.fan_out.fill_(7);
  runtime::SurgeryPlan plan;
  write_site(m->params(), site, append_units(t, units), plan);
  const auto& nw = plan.parameters[2].second;
  ASSERT_EQ(plan.parameters[2].first, "fc1.weight");
  EXPECT_EQ(nw.sizes(), (std::vector<int64_t>{6, 6 * 4}));
  EXPECT_TRUE(nw.narrow(1, 0, 16).equal(w));
  EXPECT_TRUE(nw.narrow(1, 16, 8).eq(7).all().item<bool>());
}

TEST(SiteResize, ConvConsumerUnitsAreInputChannels) {
  const auto arch = sprout::testing::cnn_arch(false);
  auto m = growth::build_model(arch, 3);
  const auto t = read_site(m->params(), m->site("conv1"));
  const auto& w2 = m->params().parameter("conv2.weight");  // (4, 3, 3, 3)
  EXPECT_EQ(t.fan_in.sizes(), (std::vector<int64_t>{3, 2 * 9}));
  EXPECT_TRUE(t.fan_out[1].equal(w2.select(1, 1).reshape({-1})));
}

TEST(SiteResize, NewUnitsAreZeroWithIdentityNorm) {
  auto m = sprout::testing::trained_looking_model(sprout::testing::mlp_arch(true), 4);
  const auto u = new_units(read_site(m->params(), m->site("fc1")), 3);
  EXPECT_TRUE(u.fan_in.eq(0).all().item<bool>());
  EXPECT_TRUE(u.fan_out.eq(0).all().item<bool>());
  EXPECT_TRUE(u.bias.eq(0).all().item<bool>());
  EXPECT_TRUE(u.norm_weight.eq(1).all().item<bool>());
  EXPECT_TRUE(u.norm_bias.eq(0).all().item<bool>());
  EXPECT_TRUE(u.running_mean.eq(0).all().item<bool>());
  EXPECT_TRUE(u.running_var.eq(1).all().item<bool>());
}

}  // namespace
}  // namespace sprout::growth
