// The vit family's width groups under slimmable execution and adaptive scales
// (growth/models/vit.cpp): the stream and every block's heads slice to their active widths
// like the MLP sites, a narrow forward is a separately built narrow ViT, MACs follow the
// active widths, and the per-head and per-stream-unit scales act where vit.cpp says.
#include <gtest/gtest.h>

#include "growth/models/family.h"
#include "growth/models/macs.h"
#include "growth/models/memory_estimate.h"
#include "growth/models/model.h"
#include "growth/slimmable/slimmable.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

// Two blocks with different heads and MLP widths; head dimension 4 set explicitly, so that a
// narrower stream keeps it.
ArchSpec wide_spec() {
  ArchSpec s;
  s.kind = "vit";
  s.set_integer("depth", 2);
  s.set_integer("dim", 16);
  s.set_integer("heads", 4);
  s.set_integer("head_dim", 4);
  s.set_ints("block_heads", {4, 3});
  s.set_ints("inner", {12, 8});
  return complete(s);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Every parameter of `narrow` set to the leading entries of the same parameter of `wide`.
void copy_leading(const runtime::ParamSet& wide, runtime::ParamSet& narrow) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < narrow.num_parameters(); ++i) {
    auto src = wide.parameter(narrow.parameter_name(i));
    for (int64_t d = 0; d < src.dim(); ++d) src = src.narrow(d, 0, narrow.parameter(i).size(d));
    narrow.parameter(i).copy_(src);
  }
}

// Every site and group of `m` at ratio r, as slimmable execution computes it.
std::map<std::string, int64_t> every_width_at(const Model& m, double r) {
  std::map<std::string, int64_t> out;
  for (const auto& [name, width] : m.group_widths()) out[name] = active_units(width, r);
  return out;
}

ForwardOptions with(const std::map<std::string, int64_t>* active, const std::map<std::string, torch::Tensor>* scale,
                    bool train = false) {
  ForwardOptions o;
  o.train = train;
  o.active = active;
  o.unit_scale = scale;
  return o;
}

TEST(VitSlimmable, GroupsAreTheStreamAndEveryBlocksHeads) {
  auto m = build_model(wide_spec(), 1);
  EXPECT_EQ(m->slimmable_groups(), (std::vector<std::string>{"stream", "block1.heads", "block2.heads"}));
  for (const auto& g : m->slimmable_groups()) EXPECT_NO_THROW(m->site(g)) << g;
}

TEST(VitSlimmable, EveryGroupAtFullWidthIsThePlainForwardBitwise) {
  auto m = build_model(wide_spec(), 2);
  const auto x = torch::randn({3, 1, 28, 28});
  const auto full = every_width_at(*m, 1.0);
  ASSERT_EQ(full.at("stream"), 16);
  ASSERT_EQ(full.at("block2.heads"), 3);
  EXPECT_TRUE(m->forward(x, with(&full, nullptr)).equal(m->forward(x, false)));
  EXPECT_TRUE(m->forward(x, with(&full, nullptr, true)).equal(m->forward(x, true)));
}

// At ratios below 1 the stream, every block's heads and MLP width all narrow; the output is
// that of a ViT built at those widths holding the leading weights, and so are the MACs.
TEST(VitSlimmable, NarrowForwardEqualsSeparateNarrowModelAndItsMacs) {
  auto wide = build_model(wide_spec(), 3);
  const auto x = torch::randn({4, 1, 28, 28});
  for (double r : {0.25, 0.5, 0.75}) {
    const auto active = every_width_at(*wide, r);
    ArchSpec narrow_spec = with_site_widths(wide->arch(), active);
    auto narrow = build_model(narrow_spec, 99);
    ASSERT_EQ(narrow->group_widths(), active) << "r=" << r;
    copy_leading(wide->params(), narrow->params());
    EXPECT_LT(max_diff(wide->forward(x, with(&active, nullptr)), narrow->forward(x, false)), 1e-5) << "r=" << r;
    EXPECT_LT(max_diff(wide->forward(x, with(&active, nullptr, true)), narrow->forward(x, true)), 1e-5) << "r=" << r;
    EXPECT_EQ(macs_per_example(wide->arch(), active), macs_per_example(narrow->arch())) << "r=" << r;
    EXPECT_LT(macs_per_example(wide->arch(), active), macs_per_example(wide->arch())) << "r=" << r;
  }
  // Each group counts on its own: narrowing only the stream, or only block 2's heads, saves.
  const int64_t full = macs_per_example(wide->arch());
  EXPECT_LT(macs_per_example(wide->arch(), {{"stream", 8}}), full);
  EXPECT_LT(macs_per_example(wide->arch(), {{"block2.heads", 1}}), full);
}

// Slimmable training: the gradient of a narrow forward reaches the leading entries of every
// tensor as the narrow model's gradient, and nothing else.
TEST(VitSlimmable, NarrowBackwardIsTheNarrowModelsGradientInTheLeadingEntries) {
  auto wide = build_model(wide_spec(), 11);
  const auto active = every_width_at(*wide, 0.5);
  auto narrow = build_model(with_site_widths(wide->arch(), active), 12);
  copy_leading(wide->params(), narrow->params());
  const auto x = torch::randn({3, 1, 28, 28});
  const auto y = torch::tensor({1, 4, 7});
  at::cross_entropy_loss(wide->forward(x, with(&active, nullptr, true)), y).backward();
  at::cross_entropy_loss(narrow->forward(x, true), y).backward();
  const auto& p = wide->params();
  for (size_t i = 0; i < narrow->params().num_parameters(); ++i) {
    const auto& name = narrow->params().parameter_name(i);
    const auto& mine = narrow->params().parameter(i).grad();
    const auto g = p.parameter(name).grad();
    ASSERT_TRUE(g.defined()) << name;
    auto lead = g;
    for (int64_t d = 0; d < g.dim(); ++d) lead = lead.narrow(d, 0, mine.size(d));
    EXPECT_LT(max_diff(lead, mine), 1e-5) << name;
    auto outside = g.clone();
    auto region = outside;
    for (int64_t d = 0; d < g.dim(); ++d) region = region.narrow(d, 0, mine.size(d));
    region.zero_();
    EXPECT_EQ(outside.abs().max().item<double>(), 0.0) << name << ": gradient outside the active units";
    EXPECT_GT(mine.abs().max().item<double>(), 0.0) << name;
  }
}

TEST(VitSlimmable, AnActiveWidthOutsideTheGroupIsNamed) {
  auto m = build_model(wide_spec(), 4);
  const auto x = torch::randn({1, 1, 28, 28});
  for (const auto& bad : {std::map<std::string, int64_t>{{"block2.heads", 4}}, {{"stream", 0}}}) {
    try {
      m->forward(x, with(&bad, nullptr));
      ADD_FAILURE() << bad.begin()->first << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + bad.begin()->first + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(VitSlimmable, HeadScaleOfOnesIsTheIdentityAndZeroRemovesTheHead) {
  auto m = build_model(wide_spec(), 5);
  const auto x = torch::randn({3, 1, 28, 28});
  const auto plain = m->forward(x, false);
  const std::map<std::string, torch::Tensor> ones{{"block1.heads", torch::ones({4})},
                                                  {"block2.heads", torch::ones({3})}};
  EXPECT_TRUE(m->forward(x, with(nullptr, &ones)).equal(plain));

  // Head 2 of block 1 (of 4) scaled by 0 = a model whose block 1 has heads 1, 3, 4 only.
  const std::map<std::string, torch::Tensor> drop{{"block1.heads", torch::tensor({1.0f, 0.0f, 1.0f, 1.0f})}};
  const auto dropped = m->forward(x, with(nullptr, &drop));
  auto spec = m->arch();
  spec.set_ints("block_heads", {3, 3});
  auto removed = build_model(spec, 6);
  {
    torch::NoGradGuard no_grad;
    const auto& p = m->params();
    auto& q = removed->params();
    for (size_t i = 0; i < q.num_parameters(); ++i) {
      const auto& name = q.parameter_name(i);
      auto src = p.parameter(name);
      const int64_t hd = 4;
      if (name == "block1.qkv.weight" || name == "block1.qkv.bias") {  // rows [12, 24): head 2's q, k, v
        src = at::cat({src.narrow(0, 0, 3 * hd), src.narrow(0, 6 * hd, 6 * hd)}, 0);
      } else if (name == "block1.proj.weight") {  // columns [4, 8)
        src = at::cat({src.narrow(1, 0, hd), src.narrow(1, 2 * hd, 2 * hd)}, 1);
      }
      q.parameter(i).copy_(src);
    }
  }
  EXPECT_LT(max_diff(dropped, removed->forward(x, false)), 1e-5);
  EXPECT_GT(max_diff(dropped, plain), 1e-4);  // the head mattered
  // Adaptive width learns through the scale: every head's entry gets a gradient.
  const auto learned = torch::ones({4}).requires_grad_();
  const std::map<std::string, torch::Tensor> learn{{"block1.heads", learned}};
  m->forward(x, with(nullptr, &learn)).pow(2).sum().backward();
  EXPECT_GT(learned.grad().abs().min().item<double>(), 0.0);
  // A head scale multiplies that head's output: 2 on every head = proj's weights doubled.
  const std::map<std::string, torch::Tensor> twice{{"block2.heads", torch::full({3}, 2.0f)}};
  auto doubled = build_model(m->arch(), 7);
  copy_leading(m->params(), doubled->params());
  {
    torch::NoGradGuard no_grad;
    doubled->params().parameter("block2.proj.weight").mul_(2);
  }
  EXPECT_LT(max_diff(m->forward(x, with(nullptr, &twice)), doubled->forward(x, false)), 1e-5);
}

// The stream's scale multiplies everything written into the stream: the same as scaling the
// rows (and biases) of every producer — embed, cls, pos, each proj and fc2 — by it.
TEST(VitSlimmable, StreamScaleIsEveryProducerScaledConsistently) {
  auto m = build_model(wide_spec(), 8);
  const auto x = torch::randn({3, 1, 28, 28});
  const std::map<std::string, torch::Tensor> ones{{"stream", torch::ones({16})}};
  EXPECT_TRUE(m->forward(x, with(nullptr, &ones)).equal(m->forward(x, false)));

  const auto s = torch::rand({16}) + 0.25;
  const std::map<std::string, torch::Tensor> scale{{"stream", s}};
  auto scaled = build_model(m->arch(), 9);
  copy_leading(m->params(), scaled->params());
  {
    torch::NoGradGuard no_grad;
    auto& q = scaled->params();
    q.parameter("cls").mul_(s);
    q.parameter("pos").mul_(s);
    for (const std::string mod : {"embed", "block1.proj", "block1.fc2", "block2.proj", "block2.fc2"}) {
      q.parameter(mod + ".weight").mul_(s.unsqueeze(1));
      q.parameter(mod + ".bias").mul_(s);
    }
  }
  const auto out = m->forward(x, with(nullptr, &scale));
  EXPECT_LT(max_diff(out, scaled->forward(x, false)), 1e-5);
  EXPECT_GT(max_diff(out, m->forward(x, false)), 1e-4);
  // At an active width the scale has the active width's entries.
  const std::map<std::string, int64_t> half{{"stream", 8}};
  const std::map<std::string, torch::Tensor> half_scale{{"stream", s.narrow(0, 0, 8)}};
  EXPECT_LT(max_diff(m->forward(x, with(&half, &half_scale)), scaled->forward(x, with(&half, nullptr))), 1e-5);
}

// The gate's probe (a known first-site output) is computed at the widths before its site:
// the forward reuses it at any active widths (the caller matches them), and the probe's
// input at narrow widths is what the narrow forward feeds the first MLP.
TEST(VitSlimmable, KnownOutputIsReusedAndFirstSiteInputFollowsTheActiveWidths) {
  auto m = build_model(wide_spec(), 10);
  const auto x = torch::randn({2, 1, 28, 28});
  const std::map<std::string, int64_t> narrow{{"stream", 8}, {"block1.heads", 2}, {"block1.fc1", 6}};
  auto o = with(&narrow, nullptr);
  ForwardTrace trace;
  o.trace = &trace;
  const auto plain = m->forward(x, o);
  EXPECT_LT(max_diff(m->first_site_input(x, with(&narrow, nullptr)), trace.inputs.at("block1.fc1")), 1e-6);
  // Full widths give the full first-site input, which differs from the narrow one.
  EXPECT_EQ(m->first_site_input(x).size(-1), m->params().parameter("block1.fc1.weight").size(1));
  o.trace = nullptr;
  const std::map<std::string, torch::Tensor> exact{{"block1.fc1", trace.outputs.at("block1.fc1").detach()}};
  o.known_outputs = &exact;
  EXPECT_LT(max_diff(m->forward(x, o), plain), 1e-6);
  const std::map<std::string, torch::Tensor> bogus{{"block1.fc1", trace.outputs.at("block1.fc1").detach() + 1.0}};
  o.known_outputs = &bogus;
  EXPECT_GT(max_diff(m->forward(x, o), plain), 1e-4);
}

}  // namespace
}  // namespace sprout::growth
