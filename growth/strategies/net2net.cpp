// `net2net`: Net2WiderNet (Chen, Goodfellow, Shlens, ICLR 2016), growth/README.md "Net2Net".
//
// Mapping g: old unit u -> u; new unit j -> r_j drawn uniformly from the existing units.
// New units copy their source's fan-in row, bias and batch-norm γ, β and running
// statistics; every fan-out column (old and new) becomes its source's column divided by
// the source's replication count |{x : g(x) = g(j)}|. The consumer then sees each source's
// contribution split over identical copies: the function is preserved exactly (eval mode,
// and in train mode too since the copies' batch statistics are equal).
// growth.noise > 0 adds N(0, (noise·std(W_producer))²) to the new fan-in rows to break the
// symmetry of the copies; the function then changes slightly.
// Optimizer state keeps its old entries bit-exact (as every surgery does), including those
// of the divided columns.
//
// Heads and residual groups: a new unit copies its source's entries in every producer and
// norm slice (a head's q, k, v rows; a channel's rows in the stem or shortcut and in every
// block's conv2, its γ, β and statistics in every BatchNorm along the stage) and every
// consumer slice is divided as above, so each copy carries the same values through the
// residual sums and the function is kept. A group normalised over its units (LayerNorm
// over a Transformer's stream) keeps its mean and variance only when every unit has the
// same number of copies: there the growth must add a multiple of the width and unit j
// copies j mod n (no randomness).
#include "growth/strategies/strategy.h"
#include "runtime/error.h"

namespace sprout::growth {

namespace {

class Net2Net final : public Strategy {
 public:
  std::string name() const override { return "net2net"; }
  std::string refusal_to_add(const WidthSite& site, int64_t add) const override {
    if (!site.normalised_over_units || add <= 0 || add % site.width == 0) return "";
    return concat("a LayerNorm normalises over its units, and only copying every unit equally often keeps each "
                  "token's mean and variance: add a multiple of its width ", site.width, " (got +", add, ")");
  }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator& gen) override {
    const auto& params = ctx.model->params();
    if (!ctx.site.inner()) return plan_group(ctx, gen);
    const auto old = read_site(params, ctx.site);
    const int64_t n = old.width();
    const auto src = at::randint(n, {ctx.add}, gen, torch::kInt64);  // (k) source of each new unit
    auto count = torch::ones({n}, torch::kFloat64);
    count.index_add_(0, src, torch::ones({ctx.add}, torch::kFloat64));
    SiteTensors units;
    units.fan_in = old.fan_in.index_select(0, src);
    if (ctx.options.noise > 0) {
      const double sd = ctx.options.noise * old.fan_in.to(torch::kFloat64).std().item<double>();
      units.fan_in = units.fan_in + (at::randn(units.fan_in.sizes(), gen, torch::kFloat64) * sd).to(units.fan_in.dtype());
    }
    units.bias = old.bias.index_select(0, src);
    if (old.has_norm()) {
      units.norm_weight = old.norm_weight.index_select(0, src);
      units.norm_bias = old.norm_bias.index_select(0, src);
      units.running_mean = old.running_mean.index_select(0, src);
      units.running_var = old.running_var.index_select(0, src);
    }
    auto divided = (old.fan_out.to(torch::kFloat64) / count.unsqueeze(1));  // (n, F_out)
    units.fan_out = divided.index_select(0, src).to(old.fan_out.scalar_type());
    auto grown_old = old;
    grown_old.fan_out = divided.to(old.fan_out.scalar_type());
    runtime::SurgeryPlan plan;
    write_site(params, ctx.site, append_units(grown_old, units), plan);
    return plan;
  }

 private:
  runtime::SurgeryPlan plan_group(GrowthContext& ctx, at::Generator& gen) {
    const auto& params = ctx.model->params();
    const auto old = read_group(params, ctx.site);
    const int64_t n = old.width();
    const auto src = ctx.site.normalised_over_units ? torch::arange(ctx.add, torch::kInt64).remainder(n)
                                                    : at::randint(n, {ctx.add}, gen, torch::kInt64);
    auto count = torch::ones({n}, torch::kFloat64);
    count.index_add_(0, src, torch::ones({ctx.add}, torch::kFloat64));
    GroupTensors units;
    units.fan_in = old.fan_in.index_select(0, src);
    if (ctx.options.noise > 0 && old.fan_in.numel() > 0) {
      const double sd = ctx.options.noise * old.fan_in.to(torch::kFloat64).std().item<double>();
      const auto noise = at::randn(units.fan_in.sizes(), gen, torch::kFloat64) * sd;
      units.fan_in = units.fan_in + noise.to(units.fan_in.dtype());
    }
    units.norm = old.norm.index_select(0, src);
    const auto divided = old.fan_out.to(torch::kFloat64) / count.unsqueeze(1);
    units.fan_out = divided.index_select(0, src).to(old.fan_out.scalar_type());
    auto grown_old = old;
    grown_old.fan_out = divided.to(old.fan_out.scalar_type());
    runtime::SurgeryPlan plan;
    write_group(params, ctx.site, append_units(grown_old, units), plan);
    return plan;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_net2net() { return std::make_unique<Net2Net>(); }

}  // namespace sprout::growth
