// The vit family (growth/models/vit.cpp): shapes, names, sites, settings, attention
// against a direct computation, and a rebuild from its checkpoint text. Growth on its
// sites is tested with every strategy in tests/growth/strategies/, slimmable execution and
// the gate in tests/growth/slimmable/, the stream and heads slimmed and scaled in
// vit_slimmable_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "growth/models/family.h"
#include "growth/models/macs.h"
#include "growth/models/model.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

ArchSpec vit() {
  ArchSpec s;
  s.kind = "vit";
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

TEST(Vit, ShapesNamesAndSites) {
  auto m = build_model(vit(), 1);  // 28×28, patch 7: 16 patches + the class token
  EXPECT_EQ(m->forward(torch::randn({3, 1, 28, 28}), true).sizes(), (std::vector<int64_t>{3, 10}));
  const auto& p = m->params();
  EXPECT_EQ(p.parameter("embed.weight").sizes(), (std::vector<int64_t>{64, 49}));
  EXPECT_EQ(p.parameter("pos").sizes(), (std::vector<int64_t>{1, 17, 64}));
  EXPECT_EQ(p.parameter("block4.qkv.weight").sizes(), (std::vector<int64_t>{192, 64}));
  EXPECT_EQ(p.parameter("block4.fc1.weight").sizes(), (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(p.parameter("head.weight").sizes(), (std::vector<int64_t>{10, 64}));
  const auto sites = m->sites();
  ASSERT_EQ(sites.size(), 4u);
  EXPECT_EQ(sites[1].name, "block2.fc1");
  EXPECT_EQ(sites[1].consumer, "block2.fc2");
  EXPECT_TRUE(sites[1].tokens);
  EXPECT_EQ(sites[1].slope_at_zero(), 0.5);
  EXPECT_EQ(m->arch().describe(), "vit 1x28x28 patch 7 dim 64 heads 4 depth 4 mlp 128 -> 10");
}

// One block's attention, written out head by head, equals the model's.
TEST(Vit, AttentionIsPerHeadScaledDotProduct) {
  ArchSpec s = vit();
  s.set_integer("depth", 1);
  auto m = build_model(s, 2);
  const auto& p = m->params();
  const auto x = torch::randn({2, 1, 28, 28});
  // The first site reads ln2(x + attention(ln1(x))) of the tokens.
  const auto in = m->first_site_input(x);
  auto cols = at::im2col(x, {7, 7}, {1, 1}, {0, 0}, {7, 7}).transpose(1, 2);
  auto tok = at::cat({p.parameter("cls").expand({2, 1, 64}), at::linear(cols, p.parameter("embed.weight"), p.parameter("embed.bias"))}, 1) +
             p.parameter("pos");
  auto ln1 = at::layer_norm(tok, {64}, p.parameter("block1.ln1.weight"), p.parameter("block1.ln1.bias"), 1e-5);
  auto qkv = at::linear(ln1, p.parameter("block1.qkv.weight"), p.parameter("block1.qkv.bias"));
  std::vector<torch::Tensor> outs;
  for (int64_t h = 0; h < 4; ++h) {
    // Head-major rows: head h's q, k, v are rows [48h, 48h + 48).
    auto q = qkv.narrow(2, h * 48, 16), k = qkv.narrow(2, h * 48 + 16, 16), v = qkv.narrow(2, h * 48 + 32, 16);
    outs.push_back(at::matmul(at::softmax(at::matmul(q, k.transpose(1, 2)) / 4.0, -1), v));
  }
  auto attn = at::linear(at::cat(outs, 2), p.parameter("block1.proj.weight"), p.parameter("block1.proj.bias"));
  auto ref = at::layer_norm(tok + attn, {64}, p.parameter("block1.ln2.weight"), p.parameter("block1.ln2.bias"), 1e-5);
  EXPECT_LT((in - ref).abs().max().item<double>(), 1e-5);
}

TEST(Vit, MlpWidthsGrowAndRebuildFromTheCheckpointText) {
  auto s = vit();
  s.set_ints("inner", {32, 40, 48, 56});
  auto m = build_model(s, 4);
  const auto back = ArchSpec::parse(m->arch().serialize());
  EXPECT_EQ(back.describe(), "vit 1x28x28 patch 7 dim 64 heads 4 depth 4 mlp 32,40,48,56 -> 10");
  auto rebuilt = build_model(back, 4);
  const auto x = torch::randn({2, 1, 28, 28});
  EXPECT_TRUE(rebuilt->forward(x, false).equal(m->forward(x, false)));
  EXPECT_EQ(continuation_mismatch(back, complete(vit())), "");
  ArchSpec heads = vit();
  heads.set_integer("heads", 8);
  EXPECT_NE(continuation_mismatch(back, complete(heads)).find("model.heads differs"), std::string::npos);
  // fc1 and fc2 of block 1 at 16 active units instead of 32: 2·(32 − 16)·64 per token.
  EXPECT_EQ(macs_per_example(back) - macs_per_example(back, {{"block1.fc1", 16}}), 2 * 16 * 64 * 17);
}

TEST(Vit, BadSettingsAreNamed) {
  auto s = vit();
  s.set_integer("heads", 3);
  EXPECT_NE(error_of(s).find("model.heads: 3 must be >= 1 and divide model.dim 64"), std::string::npos);
  s = vit();
  s.set_integer("patch", 5);
  EXPECT_NE(error_of(s).find("model.patch: 5 must divide the 28x28 images"), std::string::npos);
  s = vit();
  s.set_ints("inner", {8});
  EXPECT_NE(error_of(s).find("model.inner: '8' has 1 widths; depth 4"), std::string::npos);
  s = vit();
  s.set_integer("depth", 0);
  EXPECT_NE(error_of(s).find("model.depth: 0 must be in [1, 256]"), std::string::npos);
}

TEST(Vit, StoredTextsBeforePerBlockHeadsAreRefused) {
  ArchSpec a;
  a.kind = "vit";
  const std::string text = complete(a).serialize();
  ASSERT_NE(text.find(";block_heads="), std::string::npos) << text;
  EXPECT_EQ(ArchSpec::parse_stored(text), complete(a));
  // The same text as written before the heads were width groups: no block_heads, head_dim.
  std::string old = text;
  for (const std::string key : {";block_heads=", ";head_dim="}) {
    const auto at = old.find(key);
    old.erase(at, old.find(';', at + 1) == std::string::npos ? std::string::npos : old.find(';', at + 1) - at);
  }
  EXPECT_NO_THROW(ArchSpec::parse(old));  // a user's short text is fine
  try {
    ArchSpec::parse_stored(old);
    FAIL() << "accepted " << old;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("a vit checkpoint from before per-block heads"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sprout::growth
