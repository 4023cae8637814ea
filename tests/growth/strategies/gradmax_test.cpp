// GradMax (growth/README.md "GradMax"; "Invariants the tests check", 2 and 3): M through
// the im2col form equals autograd and an explicit computation; the closed form is the
// SVD's; the gradient-norm identity; random fan-outs of equal norm receive less gradient;
// k >= rank(M) is handled.
#include <gtest/gtest.h>

#include <cmath>

#include "growth/models/layers.h"
#include "growth/site_resize.h"
#include "growth/strategies/gradient_statistics.h"
#include "../growth_test_util.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {
namespace {

using sprout::testing::LoneCommunicator;

// ∂L/∂W_new of the rows [old, old+k) of the producer, by autograd (eval mode).
torch::Tensor fan_in_grad(Model& m, const WidthSite& site, int64_t old, const GrowthBatch& b) {
  auto logits = m.forward(b.x, false);
  auto loss = at::cross_entropy_loss(logits, b.y, {}, at::Reduction::Sum) / static_cast<double>(b.global_size);
  loss.backward();
  const auto& w = m.params().parameter(site.producer + ".weight");
  auto g = w.grad().narrow(0, old, w.size(0) - old).reshape({w.size(0) - old, -1}).to(torch::kFloat64).clone();
  m.params().zero_grad();
  return g;
}

// Grows `site` by k units with zero fan-in and the given fan-out rows (k, F_out).
void grow_with_fan_out(Model& m, const WidthSite& site, const torch::Tensor& fan_out) {
  auto old = read_site(m.params(), site);
  auto units = new_units(old, fan_out.size(0));
  units.fan_out = fan_out.to(torch::kFloat32);
  runtime::SurgeryPlan plan;
  write_site(m.params(), site, append_units(old, units), plan);
  LoneCommunicator comm;
  runtime::Surgery s(comm, m.params(), nullptr);
  s.quiesce(0);
  s.decide("test");
  s.apply(s.compute_on_root([&] { return plan; }));
  s.commit();
}

// M by shifted slices, independent of im2col and of the kernel flip: for every pair of
// kernel offsets (a,b) of the producer and (a2,b2) of a conv consumer,
//   M[(o,a2,b2),(c,a,b)] = Σ_{n,i,j} δ[n,o,i−a2+1,j−b2+1] · h[n,c,s·i+a−1,s·j+b−1].
torch::Tensor explicit_m(Model& m, const WidthSite& site, const GrowthBatch& b) {
  ForwardTrace trace;
  ForwardOptions o;
  o.trace = &trace;
  auto loss = at::cross_entropy_loss(m.forward(b.x, o), b.y, {}, at::Reduction::Sum) / static_cast<double>(b.global_size);
  loss.backward();
  m.params().zero_grad();
  auto h = trace.inputs.at(site.producer).detach().to(torch::kFloat64);
  auto d = trace.outputs.at(site.consumer).grad().to(torch::kFloat64);
  if (site.kind == WidthSite::Kind::Linear) {  // tokens: N·T rows; GELU passes half back at 0
    return d.reshape({-1, d.size(-1)}).t().mm(h.reshape({-1, h.size(-1)})) * site.slope_at_zero();
  }
  // The producer's output positions (stride), then the pooling's (every other one).
  const int64_t s = site.stride * (site.pooled ? 2 : 1);
  const int64_t ho = (h.size(2) - 1) / site.stride + 1, wo = (h.size(3) - 1) / site.stride + 1;
  const int64_t hp = site.pooled ? ho / 2 : ho, wp = site.pooled ? wo / 2 : wo;
  auto hpad = at::constant_pad_nd(h, {1, 1, 1, 1}, 0);
  std::vector<torch::Tensor> cols;  // per (c,a,b) block
  torch::Tensor shifted[3][3];      // h at the pooled positions, offset (a,b): (N, C, hp, wp)
  for (int a = 0; a < 3; ++a)
    for (int bb = 0; bb < 3; ++bb)
      shifted[a][bb] = hpad.slice(2, a, a + s * (hp - 1) + 1, s).slice(3, bb, bb + s * (wp - 1) + 1, s);
  const int64_t c_in = h.size(1);
  if (d.dim() == 2) {  // Linear consumer across the flatten: rows (o, q)
    const int64_t out = d.size(1);
    auto mm = torch::zeros({out, hp * wp, c_in, 3, 3}, torch::kFloat64);
    for (int a = 0; a < 3; ++a)
      for (int bb = 0; bb < 3; ++bb)
        mm.select(3, a).select(3, bb).copy_(at::einsum("no,ncq->oqc", {d, shifted[a][bb].reshape({h.size(0), c_in, -1})}));
    return mm.reshape({out * hp * wp, c_in * 9});
  }
  const int64_t out = d.size(1);
  auto dpad = at::constant_pad_nd(d, {2, 2, 2, 2}, 0);  // δ[i − a2 + 1] = dpad[i − a2 + 3]
  auto mm = torch::zeros({out, 3, 3, c_in, 3, 3}, torch::kFloat64);
  for (int a2 = 0; a2 < 3; ++a2)
    for (int b2 = 0; b2 < 3; ++b2) {
      auto ds = dpad.slice(2, 3 - a2, 3 - a2 + hp).slice(3, 3 - b2, 3 - b2 + wp);  // (N, out, hp, wp)
      for (int a = 0; a < 3; ++a)
        for (int bb = 0; bb < 3; ++bb)
          mm.select(1, a2).select(1, b2).select(2, a).select(2, bb).copy_(at::einsum("noij,ncij->oc", {ds, shifted[a][bb]}));
    }
  return mm.reshape({out * 9, c_in * 9});
}

struct Case {
  const char* name;
  ArchSpec arch;
};

std::vector<Case> cases() {
  auto odd = sprout::testing::cnn_arch(false);
  odd.in_height = odd.in_width = 14;
  odd.set_ints("conv", {3, 4, 5});  // 14 -> 7 -> 3: conv3's input is 7x7 (odd), pooling drops a row
  return {{"mlp", sprout::testing::mlp_arch(false)}, {"mlp_bn", sprout::testing::mlp_arch(true)},
          {"cnn", sprout::testing::cnn_arch(false)}, {"cnn_bn", sprout::testing::cnn_arch(true)}, {"cnn_odd", odd},
          {"resnet", sprout::testing::resnet_arch()},  // stride-2 producers, no pooling
          {"vit", sprout::testing::vit_arch()}};        // tokens, GELU (slope 1/2 at 0)
}

TEST(GradMaxMatrix, EqualsAutogradAndExplicitComputationAtEverySite) {
  for (const auto& c : cases()) {
    auto probe = sprout::testing::trained_looking_model(c.arch, 3);
    for (const auto& site : probe->sites()) {
      SCOPED_TRACE(std::string(c.name) + " site " + site.name);
      auto m = sprout::testing::trained_looking_model(c.arch, 3);
      const auto b = sprout::testing::random_batch(c.arch, 5, 11, 8);
      const auto mat = growth_matrix(*m, site, b);
      const auto ref = explicit_m(*m, site, b);
      ASSERT_EQ(mat.sizes(), ref.sizes());
      EXPECT_LT(sprout::testing::max_rel_diff(mat, ref), 1e-9);
      EXPECT_GT(mat.abs().max().item<double>(), 1e-6);  // not a comparison of zeros
      // Autograd: grow with zero fan-in and random fan-out F, the new fan-in gets F^T M.
      auto gen = compat::make_generator(5);
      auto f = at::randn({4, mat.size(0)}, gen, torch::kFloat64);  // (k, F_out)
      grow_with_fan_out(*m, site, f);
      const auto g = fan_in_grad(*m, m->site(site.name), site.width, b);
      // A new unit's batch-norm (eval, identity statistics) scales by 1/sqrt(1 + eps).
      const double bn = site.norm.empty() ? 1.0 : 1.0 / std::sqrt(1.0 + 1e-5);
      EXPECT_LT(sprout::testing::max_rel_diff(g, f.to(torch::kFloat32).to(torch::kFloat64).mm(mat) * bn), 1e-4);
    }
  }
}

TEST(GradMaxMatrix, ActivationGradientAtZeroIsOne) {
  auto x = torch::zeros({4}, torch::requires_grad());
  activation(x).sum().backward();
  EXPECT_TRUE(x.grad().equal(torch::ones({4})));  // torch::relu would give 0: new units never learn
}

TEST(GradMax, ClosedFormIsTheTopSingularVectorsAndTheNormIdentityHolds) {
  for (const auto& c : cases()) {
    auto probe = sprout::testing::trained_looking_model(c.arch, 4);
    for (const auto& site : probe->sites()) {
      SCOPED_TRACE(std::string(c.name) + " site " + site.name);
      auto m = sprout::testing::trained_looking_model(c.arch, 4);
      const auto b = sprout::testing::random_batch(c.arch, 16, 12);
      const auto mat = growth_matrix(*m, site, b);
      auto svd = at::linalg_svd(mat, false);
      const auto& u = std::get<0>(svd);
      const auto& s = std::get<1>(svd);
      const int64_t k = std::min<int64_t>(3, s.size(0));
      sprout::testing::LoneCommunicator comm;
      sprout::testing::GrowOptions go;
      go.options.scale_mode = "fixed";
      go.options.scale = 0.7;
      sprout::testing::grow_site(comm, *m, site.name, k, &b, nullptr, go);
      const auto grown = read_site(m->params(), m->site(site.name));
      EXPECT_TRUE(grown.fan_in.narrow(0, site.width, k).eq(0).all().item<bool>());
      EXPECT_TRUE(grown.bias.narrow(0, site.width, k).eq(0).all().item<bool>());
      const auto f = grown.fan_out.narrow(0, site.width, k).to(torch::kFloat64);  // (k, F_out)
      const auto gram = f.mm(f.t());
      EXPECT_LT((gram - torch::eye(k, torch::kFloat64) * 0.49).abs().max().item<double>(), 1e-5);  // orthogonal, norm c
      for (int64_t j = 0; j < k; ++j) {
        const double cos = (f[j] / 0.7).dot(u.select(1, j)).item<double>();
        EXPECT_NEAR(std::abs(cos), 1.0, 1e-4) << "column " << j;
      }
      const double expected = 0.7 * s.narrow(0, 0, k).pow(2).sum().sqrt().item<double>();
      const double bn = site.norm.empty() ? 1.0 : 1.0 / std::sqrt(1.0 + 1e-5);
      const double got = fan_in_grad(*m, m->site(site.name), site.width, b).norm().item<double>();
      EXPECT_NEAR(got, expected * bn, 1e-4 * expected);
      EXPECT_NEAR(new_fan_in_grad_norm(comm, *m, m->site(site.name), site.width, b), got, 1e-6 * got);
    }
  }
}

TEST(GradMax, RandomFanOutOfTheSameNormGetsLessGradient) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto b = sprout::testing::random_batch(c.arch, 16, 13);
    sprout::testing::LoneCommunicator comm;
    const std::string site = c.arch.kind == "cnn" ? "conv2" : c.arch.kind == "resnet" ? "block2.conv1"
                             : c.arch.kind == "vit"  ? "block2.fc1"
                                                     : "fc1";
    auto gm = sprout::testing::trained_looking_model(c.arch, 5);
    const int64_t old = gm->site(site).width;
    sprout::testing::grow_site(comm, *gm, site, 2, &b);
    const double best = new_fan_in_grad_norm(comm, *gm, gm->site(site), old, b);
    const double c_used = read_site(gm->params(), gm->site(site)).fan_out.narrow(0, old, 2).norm(2, {1}).mean().item<double>();
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      auto rm = sprout::testing::trained_looking_model(c.arch, 5);
      sprout::testing::GrowOptions go;
      go.strategy = "random";
      go.seed = seed;
      sprout::testing::grow_site(comm, *rm, site, 2, &b, nullptr, go);
      const auto f = read_site(rm->params(), rm->site(site)).fan_out.narrow(0, old, 2);
      EXPECT_NEAR(f.norm(2, {1}).mean().item<double>(), c_used, 1e-5 * c_used);  // same norm
      EXPECT_LT(new_fan_in_grad_norm(comm, *rm, rm->site(site), old, b), best) << "seed " << seed;
    }
  }
}

TEST(GradMax, MoreUnitsThanTheRankOfMIsHandled) {
  // fc2's consumer is the 10-way output: F_out = 10. Three examples: rank(M) <= 3.
  const auto arch = sprout::testing::mlp_arch(false);
  sprout::testing::LoneCommunicator comm;
  for (int64_t k : {6, 16}) {
    SCOPED_TRACE(k);
    auto m = sprout::testing::trained_looking_model(arch, 6);
    const auto b = sprout::testing::random_batch(arch, 3, 14);
    const auto mat = growth_matrix(*m, m->site("fc2"), b);
    sprout::testing::GrowOptions go;
    go.options.scale_mode = "fixed";
    go.options.scale = 1.0;
    sprout::testing::grow_site(comm, *m, "fc2", k, &b, nullptr, go);
    const auto f = read_site(m->params(), m->site("fc2")).fan_out.narrow(0, 10, k).to(torch::kFloat64);
    EXPECT_LT((f.norm(2, {1}) - 1).abs().max().item<double>(), 1e-5);  // every column of norm c
    const int64_t orth = std::min<int64_t>(k, 10);
    auto top = f.narrow(0, 0, orth);
    EXPECT_LT((top.mm(top.t()) - torch::eye(orth, torch::kFloat64)).abs().max().item<double>(), 1e-5);
    // The orthonormal columns reach the whole of M's column space: ‖F^T M‖ = c·‖M‖_F.
    EXPECT_NEAR(top.mm(mat).norm().item<double>(), mat.norm().item<double>(), 1e-4 * mat.norm().item<double>());
  }
}

TEST(GradMax, ZeroMatrixStillGivesOrthogonalColumns) {
  auto gen = compat::make_generator(1);
  const auto f = gradmax_fan_out(torch::zeros({5, 7}, torch::kFloat64), 4, 2.0, gen);
  EXPECT_LT((f.mm(f.t()) - torch::eye(4, torch::kFloat64) * 4).abs().max().item<double>(), 1e-10);
}

TEST(GradMax, MeanNormScaleUsesTheExistingFanOuts) {
  const auto arch = sprout::testing::mlp_arch(false);
  auto m = sprout::testing::trained_looking_model(arch, 8);
  const auto b = sprout::testing::random_batch(arch, 8, 15);
  const auto old = read_site(m->params(), m->site("fc1"));
  const double mean = old.fan_out.norm(2, {1}).mean().item<double>();
  sprout::testing::LoneCommunicator comm;
  sprout::testing::grow_site(comm, *m, "fc1", 3, &b);  // default: mean_norm, scale 0.5
  const auto f = read_site(m->params(), m->site("fc1")).fan_out.narrow(0, 12, 3);
  EXPECT_LT((f.norm(2, {1}) - 0.5 * mean).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace sprout::growth
