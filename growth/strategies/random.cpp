// `random`: the GradMax paper's baseline. Zero fan-in and bias (function unchanged), fan-out
// columns drawn from a Gaussian and scaled to the norm c GradMax would use
// (growth.scale, growth.scale_mode), so the two differ only in direction. On a heads or
// residual group the new units' producers are zero in every slice (a new head's q, k, v; a
// new channel's rows in every producer), so they output 0 and their random fan-out reads 0.
#include "growth/strategies/strategy.h"

namespace sprout::growth {

namespace {

// k Gaussian rows of length f, each scaled to norm c.
torch::Tensor random_rows(int64_t k, int64_t f, double c, at::Generator& gen) {
  auto r = at::randn({k, f}, gen, torch::kFloat64);
  return r / r.norm(2, {1}, true).clamp_min(1e-30) * c;
}

class Random final : public Strategy {
 public:
  std::string name() const override { return "random"; }
  std::string refusal(const WidthSite& site) const override { return refuse_normalised(site); }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator& gen) override {
    const auto& params = ctx.model->params();
    if (!ctx.site.inner()) {  // fan-out over every consumer slice of a unit, one vector
      const auto old = read_group(params, ctx.site);
      auto units = new_group_units(params, ctx.site, ctx.add);
      units.fan_out = random_rows(ctx.add, old.fan_out.size(1), fan_out_norm(ctx.options, old.fan_out), gen)
                          .to(old.fan_out.scalar_type());
      runtime::SurgeryPlan plan;
      write_group(params, ctx.site, append_units(old, units), plan);
      return plan;
    }
    const auto old = read_site(params, ctx.site);
    auto units = new_units(old, ctx.add);
    const double c = fan_out_norm(ctx.options, old);
    units.fan_out = random_rows(ctx.add, old.fan_out.size(1), c, gen).to(old.fan_out.scalar_type());
    runtime::SurgeryPlan plan;
    write_site(params, ctx.site, append_units(old, units), plan);
    return plan;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_random() { return std::make_unique<Random>(); }

}  // namespace sprout::growth
