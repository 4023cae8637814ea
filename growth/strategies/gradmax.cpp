// GradMax (Evci et al., ICLR 2022; reference code google-research/growneuron);
// formulas in growth/README.md "GradMax".
//
// New units get zero fan-in and bias (the function is unchanged; batch-norm grows as
// identity) and fan-out columns maximising the norm of the gradient their fan-in receives:
// with M the (F_out × F_in) matrix of growth/strategies/gradient_statistics.h, ∂L/∂W_new = F^T M, so the
// best F with columns of norm c is c·[u_1 … u_k], the top-k left singular vectors of M, and
//     ‖∂L/∂W_new‖_F = c · sqrt(σ_1² + … + σ_k²).
// M is reduced over the ranks' parts of one separate batch (growth.batch, 128 global by
// default); the SVD runs on rank 0 and the result is broadcast by the surgery (singular
// vector signs are arbitrary and differ across machines and libraries).
#include "growth/strategies/strategy.h"
#include "growth/strategies/gradient_statistics.h"
#include "runtime/error.h"

namespace sprout::growth {

torch::Tensor gradmax_fan_out(const torch::Tensor& m, int64_t k, double c, at::Generator& gen) {
  const int64_t f_out = m.size(0);
  auto svd = at::linalg_svd(m.to(torch::kFloat64), /*full_matrices=*/false);
  const auto& u = std::get<0>(svd);  // (F_out, min(F_out, F_in))
  const auto& s = std::get<1>(svd);  // descending
  const double s_max = s.numel() > 0 ? s[0].item<double>() : 0.0;
  const int64_t rank = s_max > 0 ? s.gt(1e-6 * s_max).sum().item<int64_t>() : 0;
  const int64_t taken = std::min(k, rank);
  auto cols = u.narrow(1, 0, taken);  // (F_out, taken), orthonormal
  const int64_t rest = k - taken;
  if (rest > 0) {
    // Directions M does not reach: random, orthogonal to the taken ones and each other
    // while the space allows (F_out − taken of them), then just random.
    auto g = at::randn({f_out, rest}, gen, torch::kFloat64);
    g = g - cols.mm(cols.t().mm(g));
    const int64_t orth = std::min(rest, f_out - taken);
    std::vector<torch::Tensor> parts{cols};
    if (orth > 0) parts.push_back(std::get<0>(at::linalg_qr(g.narrow(1, 0, orth), "reduced")));
    if (rest > orth) {
      auto extra = g.narrow(1, orth, rest - orth);
      parts.push_back(extra / extra.norm(2, {0}, true).clamp_min(1e-30));
    }
    cols = torch::cat(parts, 1);
  }
  return (cols.t() * c).contiguous();  // (k, F_out)
}

namespace {

class GradMax final : public Strategy {
 public:
  std::string name() const override { return "gradmax"; }
  bool needs_batch() const override { return true; }
  std::string refusal(const WidthSite& site) const override {
    if (site.group == WidthSite::Group::Heads) return "";
    return refuse_groups(site, "GradMax's matrix M is derived for one producer and one consumer with an elementwise "
                               "activation between, or for attention heads (use zeros, random or net2net)");
  }

  void gather(GrowthContext& ctx) override {
    m_ = ctx.site.inner() ? growth_matrix(*ctx.model, ctx.site, *ctx.batch)
                          : heads_growth_matrix(*ctx.model, ctx.site, *ctx.batch);
    ctx.comm->allreduce(m_, runtime::ReduceOp::Sum);
  }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator& gen) override {
    const auto& params = ctx.model->params();
    if (!ctx.site.inner()) return plan_heads(ctx, gen);
    const auto old = read_site(params, ctx.site);
    auto units = new_units(old, ctx.add);
    const double c = fan_out_norm(ctx.options, old);
    units.fan_out = gradmax_fan_out(m_.to(torch::kCPU), ctx.add, c, gen).to(old.fan_out.scalar_type());
    runtime::SurgeryPlan plan;
    write_site(params, ctx.site, append_units(old, units), plan);
    return plan;
  }

 private:
  // A heads group: k·d_h proj columns, the top left singular vectors of the heads M, each
  // of norm c (c from the existing proj columns); q, k, v rows zero.
  runtime::SurgeryPlan plan_heads(GrowthContext& ctx, at::Generator& gen) {
    const auto& params = ctx.model->params();
    const auto& slice = ctx.site.consumers.front();  // proj.weight, d_h columns per head
    const auto proj = params.parameter(slice.tensor).detach().to(torch::kCPU);
    const int64_t hd = slice.unit, d_out = proj.size(0);
    const double c = fan_out_norm(ctx.options, proj.t());  // columns as rows
    const auto old = read_group(params, ctx.site);
    auto units = new_group_units(params, ctx.site, ctx.add);
    // Unit-major rows of proj: head j's row is its d_h columns one after another.
    units.fan_out = gradmax_fan_out(m_.to(torch::kCPU), ctx.add * hd, c, gen)
                        .reshape({ctx.add, hd * d_out})
                        .to(old.fan_out.scalar_type());
    runtime::SurgeryPlan plan;
    write_group(params, ctx.site, append_units(old, units), plan);
    return plan;
  }

  torch::Tensor m_;  // (F_out, F_in), reduced over the global batch
};

}  // namespace

std::unique_ptr<Strategy> make_gradmax() { return std::make_unique<GradMax>(); }

}  // namespace sprout::growth
