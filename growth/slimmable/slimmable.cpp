#include "growth/slimmable/slimmable.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "growth/slimmable/gate.h"
#include "growth/models/layers.h"
#include "growth/models/macs.h"
#include "runtime/error.h"

namespace sprout::growth {

void validate_ratios(const std::vector<double>& ratios, const std::string& option) {
  SPROUT_CHECK(ratios.size() >= 2, ConfigError, "--", option, ": needs at least two width ratios, got ",
               ratios.size());
  for (size_t i = 0; i < ratios.size(); ++i) {
    SPROUT_CHECK(std::isfinite(ratios[i]) && ratios[i] > 0 && ratios[i] <= 1, ConfigError, "--", option, ": ",
                 ratios[i], " is not a width ratio in (0, 1]");
    SPROUT_CHECK(i == 0 || ratios[i] > ratios[i - 1], ConfigError, "--", option, ": ratios must be ascending and ",
                 "unique (", ratios[i - 1], " then ", ratios[i], ")");
  }
  SPROUT_CHECK(ratios.back() == 1.0, ConfigError, "--", option, ": the largest ratio must be 1 (the full model), got ",
               ratios.back());
}

std::string norm_stats_suffix(double ratio) {
  if (ratio >= 1.0) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", ratio);
  std::string s = std::string("_r") + text;
  for (auto& c : s) {
    if (c == '.') c = 'p';
  }
  return s;
}

int64_t active_units(int64_t width, double ratio) {
  const auto units = static_cast<int64_t>(std::ceil(ratio * static_cast<double>(width) - 1e-9));
  return std::min(width, std::max<int64_t>(1, units));
}

std::map<std::string, int64_t> active_widths(const Model& model, double ratio) {
  std::map<std::string, int64_t> out;
  for (const auto& s : model.sites()) out[s.name] = active_units(s.width, ratio);
  for (const auto& g : model.slimmable_groups()) out[g] = active_units(model.site(g).width, ratio);
  return out;
}

void add_switchable_norms(Model& model, const std::vector<double>& ratios) {
  auto& p = model.params();
  std::vector<std::string> norms;
  for (const auto& site : model.sites()) {
    if (!site.norm.empty()) norms.push_back(site.norm);
  }
  for (const auto& norm : model.width_dependent_norms()) norms.push_back(norm);
  // A slimmable group's batch-norms (those with running statistics) read its active units.
  const std::string mean = ".running_mean";
  for (const auto& group : model.slimmable_groups()) {
    for (const auto& slice : model.site(group).norms) {
      const auto& t = slice.tensor;
      const bool running_mean = t.size() > mean.size() && t.compare(t.size() - mean.size(), mean.size(), mean) == 0;
      if (slice.buffer && running_mean) norms.push_back(t.substr(0, t.size() - mean.size()));
    }
  }
  std::sort(norms.begin(), norms.end());
  norms.erase(std::unique(norms.begin(), norms.end()), norms.end());
  for (const auto& norm : norms) {
    for (double r : ratios) {
      const std::string sfx = norm_stats_suffix(r);
      if (sfx.empty() || p.has_buffer(norm + ".running_mean" + sfx)) continue;
      const torch::Tensor mean = p.buffer(norm + ".running_mean");  // full width, the model's device
      p.add_buffer(norm + ".running_mean" + sfx, torch::zeros_like(mean));
      p.add_buffer(norm + ".running_var" + sfx, torch::ones_like(mean));
      p.add_buffer(norm + ".num_batches_tracked" + sfx, torch::zeros({}, mean.options().dtype(torch::kInt64)));
    }
  }
}

void make_slimmable(Model& model, const SlimSpec& spec, uint64_t seed) { SlimmableNet(model, spec, seed); }

SlimmableNet::SlimmableNet(Model& model, SlimSpec spec, uint64_t seed) : model_(model), spec_(std::move(spec)) {
  validate_ratios(spec_.ratios, "slim.ratios");
  SPROUT_CHECK(spec_.se_ratio > 0 && spec_.se_ratio <= 1, ConfigError, "--slim.se_ratio: ", spec_.se_ratio,
               " must be in (0, 1]");
  const auto sites = model_.sites();
  SPROUT_CHECK(!sites.empty(), ConfigError, "train.mode=slimmable needs a model with at least one hidden layer");
  add_switchable_norms(model_, spec_.ratios);
  for (double r : spec_.ratios) {
    active_.push_back(active_widths(model_, r));
    stats_.push_back(norm_stats_suffix(r));
  }
  gate_site_ = sites.front();
  reduced_ = active_units(gate_site_.width, spec_.se_ratio);
  add_gate_parameters(model_.params(), gate_site_.width, reduced_, static_cast<int64_t>(num_ratios()), spec_.attention,
                      seed);
}

int64_t SlimmableNet::macs(size_t i) const {
  const int64_t k = active_.at(i).at(gate_site_.name);
  return macs_per_example(model_.arch(), active_.at(i)) + (spec_.attention ? attention_macs(k, reduced_) : 0);
}

int64_t SlimmableNet::probe_macs() const {
  int64_t total = 0;
  for (const auto& l : layer_macs(model_.arch(), active_.front())) {
    total += l.macs;
    if (l.module == gate_site_.producer) return total;
  }
  return 0;  // the gate site's producer is always listed; nothing to count otherwise
}

bool SlimmableNet::probe_reused(size_t i) const { return i == 0 || model_.slimmable_groups().empty(); }

int64_t SlimmableNet::routed_macs(size_t i) const { return macs(i) + (probe_reused(i) ? 0 : probe_macs()); }

int64_t SlimmableNet::gate_macs() const {
  return gate_head_macs(active_.front().at(gate_site_.name), reduced_, static_cast<int64_t>(num_ratios()));
}

ForwardOptions SlimmableNet::options(size_t i, bool train) const {
  ForwardOptions o;
  o.train = train;
  o.active = &active_.at(i);
  o.norm_stats = stats_.at(i);
  if (spec_.attention) {
    const auto* params = &model_.params();
    const std::string site = gate_site_.name;
    o.site_hook = [params, site](const std::string& name, const torch::Tensor& h) {
      return name == site ? gate_attend(*params, h) : h;
    };
  }
  return o;
}

torch::Tensor SlimmableNet::forward(const torch::Tensor& x, size_t i, bool train) {
  return model_.forward(x, options(i, train));
}

SlimmableNet::Probe SlimmableNet::probe(const torch::Tensor& x) const {
  // The smallest sub-network's first block, on its first k_min units only (Cnn/Mlp order:
  // producer -> norm -> activation -> [2×2 max-pool]).
  const auto& p = model_.params();
  const int64_t k = active_.front().at(gate_site_.name);
  Probe out;
  ForwardOptions smallest;
  smallest.active = &active_.front();
  smallest.norm_stats = stats_.front();
  const auto in = model_.first_site_input(x, smallest);
  // The producer reads as many input units as the (possibly slimmed) input has.
  if (gate_site_.kind == WidthSite::Kind::Conv) {
    out.raw = conv3x3(p, gate_site_.producer, in, in.size(1), k, {}, gate_site_.stride);  // (N, k, H, W)
  } else if (gate_site_.tokens) {
    out.raw = linear(p, gate_site_.producer, in, in.size(-1), k);  // (N, T, k)
  } else {
    const auto flat = in.reshape({in.size(0), -1});
    out.raw = linear(p, gate_site_.producer, flat, flat.size(1), k);  // (N, k)
  }
  auto h = out.raw;
  if (!gate_site_.norm.empty()) h = batch_norm(p, gate_site_.norm, h, false, k, stats_.front());
  h = gate_site_.activation == WidthSite::Activation::Gelu ? at::gelu(h) : activation(h);
  if (gate_site_.pooled) h = at::max_pool2d(h, {2, 2});
  if (gate_site_.tokens) h = h.transpose(1, 2);  // units at dim 1
  out.pooled = gate_pool(h);  // (N, k)
  return out;
}

torch::Tensor SlimmableNet::gate_logits(const torch::Tensor& pooled) const {
  return gate_head(model_.params(), gate_reduce(model_.params(), pooled));
}

torch::Tensor SlimmableNet::forward_routed(const torch::Tensor& x, const torch::Tensor& choice,
                                           const torch::Tensor& probe_raw) {
  torch::Tensor out;
  for (size_t i = 0; i < num_ratios(); ++i) {
    auto rows = choice.eq(static_cast<int64_t>(i)).nonzero().view({-1});  // (n_i)
    if (rows.numel() == 0) continue;
    auto o = options(i, false);
    std::map<std::string, torch::Tensor> known;
    if (probe_raw.defined() && probe_reused(i)) {
      known[gate_site_.producer] = probe_raw.index_select(0, rows);
      o.known_outputs = &known;
    }
    auto logits = model_.forward(x.index_select(0, rows), o);  // (n_i, classes)
    if (!out.defined()) out = at::zeros({x.size(0), logits.size(1)}, logits.options());
    out.index_copy_(0, rows, logits);
  }
  return out;
}

torch::Tensor SlimmableNet::choose(const torch::Tensor& gate_logits, double confidence) const {
  SPROUT_CHECK(confidence >= 0 && confidence <= 1, ConfigError, "gate confidence ", confidence, " must be in [0, 1]");
  if (confidence == 0) return gate_logits.argmax(1);
  // The number of ratios whose cumulative probability is still below c is the index of
  // the first that reaches it (rounding may leave the total a hair under 1: clamp).
  const auto cumulative = at::softmax(gate_logits.to(torch::kFloat64), 1).cumsum(1);  // (N, K)
  return cumulative.lt(confidence).sum(1).clamp_max(static_cast<int64_t>(largest()));
}

Routed SlimmableNet::route(const torch::Tensor& x, double confidence) {
  Routed r;
  auto pr = probe(x);
  r.gate_logits = gate_logits(pr.pooled);
  r.choice = choose(r.gate_logits, confidence);
  r.logits = forward_routed(x, r.choice, pr.raw);
  return r;
}

std::vector<std::string> SlimmableNet::gate_stage_parameters() const {
  std::vector<std::string> out = {"gate.head.weight", "gate.head.bias"};
  if (!spec_.attention) out.insert(out.end(), {"gate.reduce.weight", "gate.reduce.bias"});
  return out;
}

}  // namespace sprout::growth
