// Adaptive width (Errica et al., "Adaptive Width Neural Networks", arXiv 2501.15889, ICLR
// 2026; growth/README.md "Adaptive width"): every adaptive site ℓ has a learned rate
//   λ_ℓ = max(softplus(raw_ℓ), floor)                                            (1)
// of an exponential distribution discretised over its unit indices i = 0, 1, …:
//   p(i) = F(i+1) − F(i) = e^{−λi}(1 − e^{−λ}),   F(x) = 1 − e^{−λx},             (2)
// truncated at the quantile q (0.9) and renormalised over the kept units:
//   D_ℓ = int(−ln(1−q)/λ_ℓ + 2),   p̂(i) = p(i) / (1 − e^{−λD}),  i < D_ℓ.         (3)
// After the activation, unit i's output is multiplied by p̂(i) (ForwardOptions::unit_scale):
// low indices matter most, and gradients reach λ through p̂. The site's width *is* D_ℓ:
// when λ moves, units are appended (growth) or trailing units removed (shrink) by
// adapt_widths below, a runtime::Surgery transaction (Note [Surgery ordering]).
//
// The training loss is −ELBO/N (N = training examples),
//   ELBO = −N·CE + log p(θ) + log p(λ),                                            (4)
//   log p(θ) = −Σ θ² / (2σ_θ²),   log p(λ) = −Σ_ℓ (λ_ℓ − μ_λ)² / (2 s_λ²)      (constants dropped).
// Σp̂ = 1, so more units mean smaller p̂(i) and larger downstream weights, which the weight
// prior penalises: that is the width regulariser.
//
// The rate is a parameter "adaptive.<site>.raw" of shape (1): allreduced with the gradients,
// updated by the optimizer and checkpointed like every other parameter, so every rank holds
// the same λ and computes the same D. The width itself is the parameters' shape, so a
// checkpoint restores it as it restores a grown model (architecture first).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "growth/models/model.h"
#include "growth/site_resize.h"
#include "runtime/surgery/surgery.h"

namespace sprout::growth {

struct AdaptiveSpec {
  std::vector<std::string> sites;  // adaptive sites; empty: every site of the model
  double q = 0.9;                  // quantile of the truncation (3)
  double rate_floor = 1e-3;        // λ ≥ floor (1), so D stays finite
  int64_t max_width = 1024;        // D is capped here (memory guard; the paper has none)
  double new_std = 1.0;            // std of appended units' fan-in and fan-out (the paper: 1)
};

struct AdaptivePrior {
  double sigma_theta = 10.0;  // σ_θ of the Gaussian weight prior
  double rate_mean = 0.01;    // μ_λ
  double rate_scale = 0.01;   // s_λ
};

// "adaptive.<site>.raw".
std::string rate_parameter(const std::string& site);
// λ of (1), differentiable in raw (shape (1)).
torch::Tensor rate(const torch::Tensor& raw, double floor);
// D of (3) for a rate λ > 0, capped at max_width (≥ 2 by construction).
int64_t truncation_width(double lambda, double q, int64_t max_width);
// The raw value whose λ truncates at `width` (λ = −ln(1−q)/(width − 1.5): the middle of
// the interval of λ giving D = width). width ≥ 2.
double raw_for_width(int64_t width, double q);
// p̂(i) of (3) for i < width: a (width) tensor, monotonically decreasing, summing to 1,
// differentiable in lambda (shape (1)).
torch::Tensor importance(const torch::Tensor& lambda, int64_t width);

// Registers "adaptive.<site>.raw" for the spec's sites (unknown site: ConfigError naming
// model.adaptive_sites), each initialised so that D equals the site's current width. A site
// is an inner site or a group in Model::slimmable_groups() (a ResNet's stage: the model
// applies its importances, and truncation resizes it by group surgery); any other group is
// refused with one line naming it and why.
// Idempotent (a model rebuilt to check a checkpoint's names gets the same parameters).
void make_adaptive(Model& model, const AdaptiveSpec& spec);
// The sites (and groups) that have a rate parameter: inner sites in forward order, then groups.
std::vector<std::string> adaptive_sites(const Model& model);

// Per adaptive site: p̂ over its current width (3), truncated to active[site] units when
// `active` names the site (not renormalised: truncation drops trailing units and keeps
// the others' scale, so truncating at the full width changes nothing).
std::map<std::string, torch::Tensor> unit_scales(const Model& model, double rate_floor,
                                                 const std::map<std::string, int64_t>* active = nullptr);
// A forward with the importances applied (options.unit_scale is filled in).
torch::Tensor adaptive_forward(Model& model, const torch::Tensor& x, ForwardOptions options, double rate_floor);
// D of every adaptive site for the current λ (identical on every rank after the
// allreduced optimizer step).
std::map<std::string, int64_t> target_widths(const Model& model, const AdaptiveSpec& spec);
// log p(θ) + log p(λ) of (4): θ = every parameter but the rates. A scalar.
torch::Tensor log_prior(const Model& model, const AdaptivePrior& prior, double rate_floor);

// Units [0, n) of a site's tensors.
SiteTensors truncate_units(const SiteTensors& t, int64_t n);

// The plan that resizes every site in `widths` to its width: shrinking keeps the leading
// units (a group: shrink_plan, growth/site_resize.h); growing appends units with fan-in,
// bias and fan-out ~ N(0, new_std²) drawn from `gen` (a norm grows as identity). Rank 0
// only (no collectives).
runtime::SurgeryPlan resize_plan(const Model& model, const std::map<std::string, int64_t>& widths, double new_std,
                                 at::Generator& gen);

// One width change of the sites whose width differs from `widths`, as one surgery
// (collective; runtime/surgery/surgery.h): quiesce(step) → decide("adaptive step S: fc1 64->70, …")
// → compute_on_root(resize_plan, generator seeded by `seed`) → apply → commit. Optimizer
// state of the shared leading region is kept (Optimizer::resize_state); new entries are 0.
// Returns the sites changed with their old widths (empty: nothing to do, no collective).
std::map<std::string, int64_t> adapt_widths(runtime::Surgery& surgery, Model& model,
                                            const std::map<std::string, int64_t>& widths, int64_t step,
                                            double new_std, uint64_t seed);

}  // namespace sprout::growth
