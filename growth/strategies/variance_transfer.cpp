// `vt`: variance transfer with learning-rate adaptation (Yuan, Savarese, Maire, "Accelerated
// Training via Incrementally Growing Neural Networks using Variance Transfer and Learning
// Rate Adaptation", NeurIPS 2023; growth/README.md "Variance transfer"). No official code is
// public; the rules below follow the paper's description as summarised by the growingnet wiki
// (growingnet.github.io/growing_wiki, "Variance Transfer") and the GroMo technical note
// "Variance-transfer initialization" (neuron pairing; exact preservation needs α·β = 1).
// Where they leave a choice open, the choice made here is marked (sprout).
//
// Site l of width n grows by k to n' = n + k; producer fan-in F_in, consumer fan-in after
// growth n'·G (G = consumer_group for a Linear consumer, 3·3 for a Conv consumer).
//  1. Pairs. p = ⌊k/2⌋ pairs with fan-in [V; V] and fan-out [Z, −Z]:
//       V ~ N(0, 1/F_in),  Z ~ N(0, 1/(n'·G))      (variance 1/fan_in)
//     new biases 0, batch-norm as identity, so both halves compute the same activation and
//     their contributions cancel exactly. An odd k adds one unit with fan-in V and fan-out 0
//     (sprout).
//  2. Variance rescaling. The consumer's fan-in grows from n·G to n'·G; its existing
//     fan-out columns are multiplied by c = sqrt(n/n') so its pre-activation variance keeps
//     the 1/fan_in scale. The function is kept by compensating:
//     a. if the consumer's output is batch-normalised (it is the producer of a site with a
//        norm): its bias is multiplied by c too, so its whole output is c·z, and that norm's
//        running statistics follow: μ → c·μ, σ² → c²(σ² + eps) − eps (the eps term (sprout)
//        makes eval mode exact; train mode normalises c·z by its own batch statistics);
//     b. otherwise: the site's existing units are multiplied by α = 1/c — their batch-norm
//        γ and β when the site has a norm, else their fan-in rows and biases. clamp_min and
//        max-pool are positively homogeneous, so α·c = 1 preserves the function exactly.
//  3. Learning-rate adaptation: the entries added at growth stage t form the sub-network
//     W_Δt and learn with η_t = η_0·‖W_Δt‖_F / ‖W_0‖_F, W_0 the stage-0 sub-network. sprout
//     applies this per tensor, as per-element multipliers (Optimizer::set_lr_scale): for
//     every tensor that gains entries, ‖W_Δt‖ is the norm of its new entries and ‖W_0‖ the
//     norm of its stage-0 block (the leading block of the shape it had at the widths before
//     any growth), both as installed; a zero norm gives multiplier 1. Older entries keep
//     their multipliers.
#include <cmath>

#include "growth/models/memory_estimate.h"
#include "growth/strategies/strategy.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::growth {

namespace {

constexpr double kBatchNormEps = 1e-5;  // growth/models/layers.cpp

// The architecture at the widths before any growth.
ArchSpec initial_arch(const Model& model, const std::map<std::string, int64_t>& initial) {
  return with_site_widths(model.arch(), initial);
}

// lr multipliers of `value` (new shape): old multipliers kept, new entries ‖Δ‖/‖W_0‖.
torch::Tensor stage_scale(const torch::Tensor& value, const torch::Tensor& old_param, const torch::Tensor* current,
                          torch::IntArrayRef stage0_shape) {
  const auto v = value.to(torch::kFloat64);
  auto old_mask = runtime::resize_keep(torch::ones(old_param.sizes(), torch::kFloat64), value.sizes(), 0.0);
  auto stage0 = runtime::resize_keep(torch::ones(stage0_shape, torch::kFloat64), value.sizes(), 0.0);
  const double delta = (v * (1 - old_mask)).norm().item<double>();
  const double base = (v * stage0).norm().item<double>();
  const double ratio = delta > 0 && base > 0 ? delta / base : 1.0;
  auto prev = current ? runtime::resize_keep(current->to(torch::kCPU), value.sizes(), 1.0) : torch::ones(value.sizes(), value.options());
  return torch::where(old_mask.to(torch::kBool), prev, torch::full_like(prev, ratio)).to(value.scalar_type());
}

class VarianceTransfer final : public Strategy {
 public:
  std::string name() const override { return "vt"; }
  std::string refusal(const WidthSite& site) const override {
    if (!site.inner()) {
      return refuse_groups(site, "variance transfer's rescaling is derived for one producer and one consumer (use "
                                 "zeros, random or net2net)");
    }
    if (site.activation == WidthSite::Activation::ClampMin) return "";
    return "its rescaling keeps the function only through a positively homogeneous activation, and the site uses GELU";
  }

  runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator& gen) override {
    auto& model = *ctx.model;
    const auto& params = model.params();
    const auto& site = ctx.site;
    const auto old = read_site(params, site);
    const int64_t n = old.width(), k = ctx.add, n_new = n + k, pairs = k / 2;
    const int64_t f_in = old.fan_in.size(1), f_out = old.fan_out.size(1);
    const int64_t out = params.parameter(site.consumer + ".weight").size(0);
    const int64_t consumer_fan_in = n_new * (f_out / out);
    const auto dt = old.fan_in.scalar_type();

    // 1. pairs [V; V] / [Z, −Z] (+ one unit V / 0 when k is odd)
    auto v = at::randn({pairs + k % 2, f_in}, gen, torch::kFloat64) / std::sqrt(static_cast<double>(f_in));
    auto z = at::randn({pairs, f_out}, gen, torch::kFloat64) / std::sqrt(static_cast<double>(consumer_fan_in));
    auto units = new_units(old, k);
    units.fan_in = torch::cat({v.narrow(0, 0, pairs), v}, 0).to(dt);
    units.fan_out = torch::cat({z, -z, torch::zeros({k % 2, f_out}, torch::kFloat64)}, 0).to(dt);

    // 2. variance rescaling, compensated
    const double c = std::sqrt(static_cast<double>(n) / static_cast<double>(n_new));
    auto kept = old;
    kept.fan_out = old.fan_out * c;
    runtime::SurgeryPlan plan;
    std::string consumer_norm;
    for (const auto& s : model.sites()) {
      if (s.producer == site.consumer) consumer_norm = s.norm;
    }
    if (!consumer_norm.empty()) {
      plan.parameters.emplace_back(site.consumer + ".bias", params.parameter(site.consumer + ".bias").detach().cpu() * c);
      plan.buffers.emplace_back(consumer_norm + ".running_mean", params.buffer(consumer_norm + ".running_mean") * c);
      plan.buffers.emplace_back(
          consumer_norm + ".running_var",
          ((params.buffer(consumer_norm + ".running_var") + kBatchNormEps) * (c * c) - kBatchNormEps).clamp_min(0));
    } else if (old.has_norm()) {
      kept.norm_weight = old.norm_weight / c;
      kept.norm_bias = old.norm_bias / c;
    } else {
      kept.fan_in = old.fan_in / c;
      kept.bias = old.bias / c;
    }
    write_site(params, site, append_units(kept, units), plan);

    // 3. per-stage learning rates of the new entries
    auto stage0 = build_model(initial_arch(model, ctx.initial_widths), 0);
    for (const auto& [name, value] : plan.parameters) {
      const auto& old_param = params.parameter(name);
      if (old_param.sizes() == value.sizes()) continue;
      const torch::Tensor* current = ctx.optimizer ? ctx.optimizer->lr_scale(name) : nullptr;
      plan.lr_scales.emplace_back(
          name, stage_scale(value, old_param, current, stage0->params().parameter(name).sizes()));
    }
    return plan;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_vt() { return std::make_unique<VarianceTransfer>(); }

}  // namespace sprout::growth
