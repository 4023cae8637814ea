// `zeros`: the GradMax paper's other baseline. Fan-in, bias and fan-out of the new units are
// all 0 (batch-norm as identity). The function is unchanged, and so, with clamp_min, is
// every later gradient of the new units: they stay at 0 (what the baseline shows).
// On a heads group a new head has zero q, k, v rows and zero proj columns (its output is 0);
// on a residual group a new channel is 0 in every producer and read by no consumer.
#include "growth/strategies/strategy.h"

namespace sprout::growth {

namespace {

class Zeros final : public Strategy {
 public:
  std::string name() const override { return "zeros"; }
  std::string refusal(const WidthSite& site) const override { return refuse_normalised(site); }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator&) override {
    const auto& params = ctx.model->params();
    if (!ctx.site.inner()) {  // every slice: zeros, norms at identity
      runtime::SurgeryPlan plan;
      write_group(params, ctx.site,
                  append_units(read_group(params, ctx.site), new_group_units(params, ctx.site, ctx.add)), plan);
      return plan;
    }
    const auto old = read_site(params, ctx.site);
    runtime::SurgeryPlan plan;
    write_site(params, ctx.site, append_units(old, new_units(old, ctx.add)), plan);
    return plan;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_zeros() { return std::make_unique<Zeros>(); }

}  // namespace sprout::growth
