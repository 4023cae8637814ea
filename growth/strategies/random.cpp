// `random`: the GradMax paper's baseline. Zero fan-in and bias (function unchanged), fan-out
// columns drawn from a Gaussian and scaled to the norm c GradMax would use
// (growth.scale, growth.scale_mode), so the two differ only in direction.
#include "growth/strategies/strategy.h"

namespace sprout::growth {

namespace {

class Random final : public Strategy {
 public:
  std::string name() const override { return "random"; }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator& gen) override {
    const auto& params = ctx.model->params();
    const auto old = read_site(params, ctx.site);
    auto units = new_units(old, ctx.add);
    const double c = fan_out_norm(ctx.options, old);
    auto f = at::randn({ctx.add, old.fan_out.size(1)}, gen, torch::kFloat64);  // (k, F_out)
    f = f / f.norm(2, {1}, true).clamp_min(1e-30) * c;
    units.fan_out = f.to(old.fan_out.scalar_type());
    runtime::SurgeryPlan plan;
    write_site(params, ctx.site, append_units(old, units), plan);
    return plan;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_random() { return std::make_unique<Random>(); }

}  // namespace sprout::growth
