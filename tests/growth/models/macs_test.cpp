// The MACs counter against hand counts for tiny models, and against the shapes a traced
// forward actually computes at the same active widths.
#include "growth/models/macs.h"

#include <gtest/gtest.h>

#include "growth/models/model.h"
#include "growth/slimmable/slimmable.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

ArchSpec tiny_mlp() {  // 16 inputs -> 8 -> 6 -> 3
  ArchSpec s;
  s.in_height = s.in_width = 4;
  s.classes = 3;
  s.set_ints("widths", {8, 6});
  return s;
}

ArchSpec tiny_cnn() {  // 1×8×8 -> c4 -> pool -> c6 -> pool (2×2) -> 24 -> 5 -> 3
  ArchSpec s;
  s.kind = "cnn";
  s.in_height = s.in_width = 8;
  s.classes = 3;
  s.set_ints("conv", {4, 6});
  s.set_ints("widths", {5});
  return s;
}

TEST(Macs, TinyMlpByHand) {
  EXPECT_EQ(macs_per_example(tiny_mlp()), 16 * 8 + 8 * 6 + 6 * 3);  // 194
  EXPECT_EQ(macs_per_example(tiny_mlp(), {{"fc1", 4}, {"fc2", 3}}), 16 * 4 + 4 * 3 + 3 * 3);  // 85
  const auto layers = layer_macs(tiny_mlp(), {{"fc2", 2}});
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[1].module, "fc2");
  EXPECT_EQ(layers[1].in, 8);
  EXPECT_EQ(layers[1].out, 2);
  EXPECT_EQ(layers[2].macs, 2 * 3);
}

TEST(Macs, TinyCnnByHand) {
  // conv1 1·4·9·(8·8) + conv2 4·6·9·(4·4) + fc1 (6·2·2)·5 + fc2 5·3
  EXPECT_EQ(macs_per_example(tiny_cnn()), 2304 + 3456 + 120 + 15);
  // conv1 1·2·9·64 + conv2 2·3·9·16 + fc1 (3·4)·2 + fc2 2·3
  EXPECT_EQ(macs_per_example(tiny_cnn(), {{"conv1", 2}, {"conv2", 3}, {"fc1", 2}}), 1152 + 864 + 24 + 6);
}

TEST(Macs, GateByHand) {
  EXPECT_EQ(attention_macs(64, 16), 2 * 64 * 16);
  EXPECT_EQ(gate_head_macs(64, 16, 4), 64 * 16 + 16 * 4);
  auto m = build_model(tiny_mlp(), 1);
  SlimmableNet net(*m, SlimSpec{}, 1);  // R = ⌈0.25·8⌉ = 2; ratio 0.5: fc1 4, fc2 3
  EXPECT_EQ(net.macs(1), 85 + 2 * 4 * 2);
  EXPECT_EQ(net.gate_macs(), 2 * 2 + 2 * 4);  // probe k_min = 2 units, R = 2, K = 4
}

// An independent count: multiply-accumulates of the modules a traced forward ran.
int64_t traced_macs(Model& m, const std::map<std::string, int64_t>& active, const torch::Tensor& x) {
  ForwardTrace trace;
  ForwardOptions o;
  o.trace = &trace;
  o.active = &active;
  m.forward(x, o);
  int64_t total = 0;
  for (const auto& [name, out] : trace.outputs) {
    const auto& in = trace.inputs.at(name);
    if (out.dim() == 4) total += in.size(1) * out.size(1) * 9 * out.size(2) * out.size(3);
    else total += in.size(1) * out.size(1);
  }
  return total;
}

TEST(Macs, MatchesWhatTheForwardComputes) {
  for (const auto& spec : {tiny_mlp(), tiny_cnn()}) {
    auto m = build_model(spec, 2);
    auto x = torch::randn({2, 1, spec.in_height, spec.in_width});
    for (double r : {0.25, 0.5, 0.75, 1.0}) {
      const auto active = active_widths(*m, r);
      EXPECT_EQ(macs_per_example(spec, active), traced_macs(*m, active, x)) << spec.describe() << " r=" << r;
    }
  }
}

TEST(Macs, RejectsImpossibleWidths) {
  EXPECT_THROW(macs_per_example(tiny_mlp(), {{"fc1", 9}}), ConfigError);
  EXPECT_THROW(macs_per_example(tiny_mlp(), {{"fc1", 0}}), ConfigError);
}

}  // namespace
}  // namespace sprout::growth
