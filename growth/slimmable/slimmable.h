// Slimmable execution (DS-Net, Li et al. CVPR 2021; US-Nets;
// growth/README.md "Slimmable networks and the dynamic gate").
//
// A model runs as the sub-network holding the first ⌈r·width⌉ units of every site and every
// slimmable group (Model::slimmable_groups(): a ResNet's stages), for a width ratio r from a
// configured list: Model::forward slices the stored weights (views, no copies) to
// ForwardOptions::active. Batch-norm is switchable: γ/β are shared and
// sliced, while every ratio r < 1 keeps private running statistics in buffers
//
//   bn_<site>.running_mean_r0p5   bn_<site>.running_var_r0p5   bn_<site>.num_batches_tracked_r0p5
//
// (ratio 1 uses the model's own buffers, so the full width *is* the plain model), and so does
// every norm downstream whose input depends on the widths (Model::width_dependent_norms(): a
// ResNet's residual stream after its first block) or that lies along a slimmable group. These
// buffers have the site's full width and the ratio's sub-network uses their first units,
// so width surgery can treat them like the norm's other buffers. Names carry exactly one
// dot, keeping the checkpoint layout /buffers/<module>/<buffer> unambiguous.
//
// SlimmableNet adds the DS-Net gate (growth/slimmable/gate.h): with `attention` its squeeze-
// excitation head multiplies the first site's output in every forward (part of the
// supernet); its width head routes each example at inference (route()).
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "growth/models/model.h"

namespace sprout::growth {

struct SlimSpec {
  std::vector<double> ratios = {0.25, 0.5, 0.75, 1.0};  // ascending, unique, in (0, 1], last 1
  bool attention = true;   // the gate's SE attention runs in every forward (trained with the supernet)
  double se_ratio = 0.25;  // gate reduction width: ⌈se_ratio · width of the first site⌉
};

// Throws ConfigError naming `option` unless ratios are ascending, unique, in (0, 1], end at 1
// and are at least two.
void validate_ratios(const std::vector<double>& ratios, const std::string& option);
// "_r0p25" for 0.25; "" for 1 (the model's own statistics).
std::string norm_stats_suffix(double ratio);
// ⌈ratio·width⌉, at least 1 (a tiny epsilon absorbs decimal ratios such as 0.3·10).
int64_t active_units(int64_t width, double ratio);
// Active units of every site and every Model::slimmable_groups() group at `ratio`.
std::map<std::string, int64_t> active_widths(const Model& model, double ratio);
// Registers, for every site with a norm, every Model::width_dependent_norms() entry, every
// batch-norm with running statistics along a Model::slimmable_groups() group and every
// ratio < 1, the private statistics (running mean 0, var 1, count 0). Sites without a norm
// need none. Idempotent.
void add_switchable_norms(Model& model, const std::vector<double>& ratios);

// Registers what a SlimmableNet over `model` adds to its ParamSet — the switchable
// statistics and the gate's parameters — without wrapping it (a model rebuilt to check a
// checkpoint's names and shapes). Idempotent.
void make_slimmable(Model& model, const SlimSpec& spec, uint64_t seed);

// Per-example result of dynamic routing.
struct Routed {
  torch::Tensor logits;  // (N, classes)
  torch::Tensor choice;  // int64 (N): index into the ratio list
  torch::Tensor gate_logits;  // (N, ratios)
};

// A model with its ratio list and gate. Registers the switchable statistics and the gate
// parameters in the model's ParamSet (idempotent, so a restored model can be wrapped).
// Active widths are computed from the model's widths at construction: wrap the model
// again after a width change.
class SlimmableNet {
 public:
  SlimmableNet(Model& model, SlimSpec spec, uint64_t seed);

  Model& model() { return model_; }
  const Model& model() const { return model_; }
  const SlimSpec& spec() const { return spec_; }
  size_t num_ratios() const { return spec_.ratios.size(); }
  size_t largest() const { return spec_.ratios.size() - 1; }
  double ratio(size_t i) const { return spec_.ratios.at(i); }
  const std::map<std::string, int64_t>& active(size_t i) const { return active_.at(i); }
  // The first site: its output feeds the gate.
  const WidthSite& gate_site() const { return gate_site_; }
  int64_t gate_reduced() const { return reduced_; }

  // MACs per example of the sub-network at ratio i (with the attention, if on), and of the
  // gate's width head on the probe (what dynamic routing adds per example). growth/models/macs.h.
  int64_t macs(size_t i) const;
  int64_t gate_macs() const;
  // Whether the routed forward at ratio i reuses the probe's first-site output: always at
  // the smallest ratio; at the others only when no slimmable group runs before the first
  // site (otherwise its input, hence its first units, differ with the ratio).
  bool probe_reused(size_t i) const;
  // MACs of the probe (the smallest sub-network up to the first site's producer), and of
  // an example routed to ratio i: macs(i), plus the probe where it is not reused.
  int64_t probe_macs() const;
  int64_t routed_macs(size_t i) const;

  // Forward options of ratio i: active widths, statistics, attention. Points into *this.
  ForwardOptions options(size_t i, bool train) const;
  // Logits (N, classes) of the sub-network at ratio i.
  torch::Tensor forward(const torch::Tensor& x, size_t i, bool train);

  // The gate's probe: the first site at the smallest ratio, as the smallest sub-network
  // computes it (eval mode). raw: the producer's raw output on its first units (reused by
  // the routed forward); pooled: (N, k_min) globally pooled features the gate reads.
  struct Probe {
    torch::Tensor raw, pooled;
  };
  Probe probe(const torch::Tensor& x) const;
  // Gate logits (N, ratios) from a probe's pooled features.
  torch::Tensor gate_logits(const torch::Tensor& pooled) const;

  // Inference with the dynamic gate (eval mode, deterministic): each example goes to the
  // argmax of its gate logits (confidence = 0, DS-Net's rule), or, for a confidence c in
  // (0, 1], to the smallest ratio i whose cumulative gate probability P(target ≤ i)
  // reaches c (the gate predicts the smallest width that suffices, so a larger c buys
  // accuracy with MACs). Each group runs at its width, reusing the probe's first units.
  // See forward_routed for the execution.
  Routed route(const torch::Tensor& x, double confidence = 0);
  // The ratio index chosen for each row of gate logits (N, ratios) -> int64 (N).
  torch::Tensor choose(const torch::Tensor& gate_logits, double confidence) const;
  // Runs example n at ratio choice[n] (eval mode); groups share one forward per ratio.
  // probe_raw (optional): the probe's raw first-site output, reused.
  torch::Tensor forward_routed(const torch::Tensor& x, const torch::Tensor& choice,
                               const torch::Tensor& probe_raw = {});

  // Names of the parameters trained in the gate stage (the width head; also the shared
  // reduction when the attention is off, since then the supernet never trains it).
  std::vector<std::string> gate_stage_parameters() const;

 private:
  Model& model_;
  SlimSpec spec_;
  std::vector<std::map<std::string, int64_t>> active_;
  std::vector<std::string> stats_;
  WidthSite gate_site_;
  int64_t reduced_ = 0;
};

}  // namespace sprout::growth
