// `zeros`: the GradMax paper's other baseline. Fan-in, bias and fan-out of the new units are
// all 0 (batch-norm as identity). The function is unchanged, and so, with clamp_min, is
// every later gradient of the new units: they stay at 0 (what the baseline shows).
#include "growth/strategies/strategy.h"

namespace sprout::growth {

namespace {

class Zeros final : public Strategy {
 public:
  std::string name() const override { return "zeros"; }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator&) override {
    const auto& params = ctx.model->params();
    const auto old = read_site(params, ctx.site);
    runtime::SurgeryPlan plan;
    write_site(params, ctx.site, append_units(old, new_units(old, ctx.add)), plan);
    return plan;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_zeros() { return std::make_unique<Zeros>(); }

}  // namespace sprout::growth
