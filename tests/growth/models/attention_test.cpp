// The fused attention core (growth/models/attention.cpp) against attention written out
// with ATen ops: values and gradients, in float64 and float32, on the ViT's shape and on
// odd ones; second derivatives; the types it does not fuse.
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <algorithm>

#include "growth/models/attention.h"

namespace sprout::growth {
namespace {

// softmax(q kᵀ / sqrt(d)) v head by head, each head's q, k, v sliced from its own rows.
torch::Tensor by_hand(const torch::Tensor& qkv, int64_t d) {
  const int64_t heads = qkv.size(2) / (3 * d);
  std::vector<torch::Tensor> out;
  for (int64_t h = 0; h < heads; ++h) {
    const auto q = qkv.narrow(2, 3 * h * d, d), k = qkv.narrow(2, 3 * h * d + d, d),
               v = qkv.narrow(2, 3 * h * d + 2 * d, d);
    const auto scores = at::bmm(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(d));
    out.push_back(at::bmm(at::softmax(scores, -1), v));
  }
  return at::cat(out, 2);
}

// max |a − b| relative to b's largest magnitude (at least 1): float32 rounds relative to size.
double gap(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

struct Case {
  int64_t n, t, heads, d;
};
const Case kCases[] = {{8, 17, 4, 16}, {3, 5, 1, 3}, {1, 1, 2, 4}, {2, 9, 3, 7}};

// Values and the gradient of ⟨y, g⟩ for a random g, fused against the reference, to
// `tolerance` relative to the largest value.
void expect_equal(torch::ScalarType type, double tolerance) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "N " << c.n << " T " << c.t << " heads " << c.heads << " d " << c.d);
    torch::manual_seed(c.n * 100 + c.t);
    const auto x = (2 * torch::randn({c.n, c.t, 3 * c.heads * c.d}, type)).requires_grad_(true);
    const auto x_ref = x.detach().clone().requires_grad_(true);
    const auto y = attention_core(x, c.d), y_ref = attention_core_reference(x_ref, c.d);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{c.n, c.t, c.heads * c.d}));
    ASSERT_TRUE(y.grad_fn());  // the fused node, not the reference's last op
    EXPECT_NE(y.grad_fn()->name().find("FusedAttention"), std::string::npos) << y.grad_fn()->name();
    EXPECT_LE(gap(y, y_ref), tolerance);
    EXPECT_LE(gap(y_ref, by_hand(x_ref.detach(), c.d)), tolerance);
    const auto g = torch::randn_like(y);
    (y * g).sum().backward();
    (y_ref * g).sum().backward();
    EXPECT_LE(gap(x.grad(), x_ref.grad()), tolerance);
    EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);  // a gradient was written, every head
  }
}

TEST(AttentionCore, EqualsTheReferenceInFloat64) { expect_equal(torch::kFloat64, 1e-12); }

TEST(AttentionCore, EqualsTheReferenceInFloat32) { expect_equal(torch::kFloat32, 1e-6); }

// Scores far apart (softmax weights that underflow to 0 in the reference) and equal scores
// (uniform weights) in float32.
TEST(AttentionCore, ExtremeAndEqualScoresMatchTheReference) {
  torch::manual_seed(6);
  for (const double spread : {0.0, 40.0}) {
    const auto x = spread == 0.0 ? torch::ones({2, 9, 24}) : spread * torch::randn({2, 9, 24});
    const auto y = attention_core(x, 8), y_ref = attention_core_reference(x, 8);
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    EXPECT_LE(gap(y, y_ref), 1e-6) << "spread " << spread;
  }
}

// The gradient reaches every q, k and v column: a change of one value of one head's k
// moves that head's output only.
TEST(AttentionCore, HeadsAreIndependentAndHeadMajor) {
  torch::manual_seed(3);
  const int64_t d = 4, heads = 3;
  auto x = torch::randn({2, 6, 3 * heads * d}, torch::kFloat64);
  const auto y = attention_core(x, d);
  auto x2 = x.clone();
  x2[1][2][3 * 1 * d + d + 1] += 0.5;  // head 1's k, feature 1, token 2 of example 1
  const auto changed = (attention_core(x2, d) - y).abs().sum(1);  // (N, heads·d)
  EXPECT_EQ(changed[0].sum().item<double>(), 0.0);
  EXPECT_EQ(changed[1].narrow(0, 0, d).sum().item<double>(), 0.0);
  EXPECT_GT(changed[1].narrow(0, d, d).sum().item<double>(), 0.0);
  EXPECT_EQ(changed[1].narrow(0, 2 * d, d).sum().item<double>(), 0.0);
}

// A second derivative (create_graph) goes through the reference and matches it.
TEST(AttentionCore, SecondDerivativesMatchTheReference) {
  torch::manual_seed(4);
  const auto x = torch::randn({2, 5, 12}, torch::kFloat64).requires_grad_(true);
  const auto x_ref = x.detach().clone().requires_grad_(true);
  auto grad_norm = [](const torch::Tensor& y, const torch::Tensor& in) {
    const auto g = torch::autograd::grad({y.pow(2).sum()}, {in}, {}, true, true)[0];
    return g.pow(2).sum();
  };
  const auto a = grad_norm(attention_core(x, 2), x), b = grad_norm(attention_core_reference(x_ref, 2), x_ref);
  EXPECT_NEAR(a.item<double>(), b.item<double>(), 1e-10);
  const auto ga = torch::autograd::grad({a}, {x})[0], gb = torch::autograd::grad({b}, {x_ref})[0];
  EXPECT_LE(gap(ga, gb), 1e-10);
}

// Types the kernel does not fuse take the reference, with the reference's result.
TEST(AttentionCore, OtherTypesTakeTheReference) {
  torch::manual_seed(5);
  const auto x = torch::randn({2, 4, 24}).to(torch::kBFloat16);
  EXPECT_TRUE(attention_core(x, 4).equal(attention_core_reference(x, 4)));
  EXPECT_THROW(attention_core(torch::randn({2, 4, 10}), 4), c10::Error);  // 10 is not heads·3·4
}

}  // namespace
}  // namespace sprout::growth
