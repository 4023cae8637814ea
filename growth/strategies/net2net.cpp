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
#include "growth/strategies/strategy.h"

namespace sprout::growth {

namespace {

class Net2Net final : public Strategy {
 public:
  std::string name() const override { return "net2net"; }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator& gen) override {
    const auto& params = ctx.model->params();
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
};

}  // namespace

std::unique_ptr<Strategy> make_net2net() { return std::make_unique<Net2Net>(); }

}  // namespace sprout::growth
