#include "growth/adaptive/adaptive.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "growth/site_resize.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

const std::string kPrefix = "adaptive.";
const std::string kSuffix = ".raw";

// The site named by a rate parameter, "" if `name` is not one.
std::string site_of(const std::string& name) {
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0 ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return "";
  }
  return name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
}

double raw_value(const Model& model, const std::string& site) {
  return model.params().parameter(rate_parameter(site)).item<double>();
}

double softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

// What adaptive width can act on, in forward order: the inner sites, then the groups the
// model slims and scales like them (Model::slimmable_groups()).
std::vector<std::string> adaptable(const Model& model) {
  auto out = model.site_names();
  for (const auto& g : model.slimmable_groups()) out.push_back(g);
  return out;
}

// A tensor the site or group writes its units into (its options are the rate's).
const torch::Tensor& unit_tensor(const Model& model, const WidthSite& s) {
  return model.params().parameter(s.inner() ? s.producer + ".weight" : s.producers.front().tensor);
}

// The site's current width in `view` (sites are resized one after another there).
int64_t width_in(const runtime::ParamSet& view, const WidthSite& s) {
  if (s.inner()) return view.parameter(s.producer + ".weight").size(0);
  const auto& first = s.producers.front();
  const auto& t = first.buffer ? view.buffer(first.tensor) : view.parameter(first.tensor);
  return t.size(first.dim) / first.unit;
}

}  // namespace

std::string rate_parameter(const std::string& site) { return kPrefix + site + kSuffix; }

torch::Tensor rate(const torch::Tensor& raw, double floor) {
  return at::softplus(raw).clamp_min(floor);  // (1)
}

int64_t truncation_width(double lambda, double q, int64_t max_width) {
  SPROUT_CHECK(lambda > 0 && std::isfinite(lambda), Error, "adaptive width: rate ", lambda, " is not > 0");
  const double d = -std::log1p(-q) / lambda + 2.0;  // (3)
  if (!(d < static_cast<double>(max_width))) return max_width;
  return std::max<int64_t>(2, static_cast<int64_t>(d));
}

double raw_for_width(int64_t width, double q) {
  SPROUT_CHECK(width >= 2, ConfigError, "adaptive width: a site needs at least 2 units, got ", width);
  const double lambda = -std::log1p(-q) / (static_cast<double>(width) - 1.5);
  return std::log(std::expm1(lambda));  // softplus⁻¹
}

torch::Tensor importance(const torch::Tensor& lambda, int64_t width) {
  auto i = torch::arange(width, lambda.options());                 // (D)
  auto mass = -torch::expm1(-lambda);                               // 1 − e^{−λ}: p(0), (2)
  auto kept = -torch::expm1(-lambda * static_cast<double>(width));  // F(D) = Σ_{i<D} p(i)
  return torch::exp(-lambda * i) * (mass / kept);                   // (D), (3)
}

void make_adaptive(Model& model, const AdaptiveSpec& spec) {
  auto names = spec.sites.empty() ? model.site_names() : spec.sites;
  const auto all = adaptable(model);
  const auto groups = model.group_names();
  for (const auto& site : names) {
    const bool group = std::find(groups.begin(), groups.end(), site) != groups.end();
    SPROUT_CHECK(std::find(all.begin(), all.end(), site) != all.end(), ConfigError, "--model.adaptive_sites: '", site,
                 group ? concat("' is a ", model.site(site).group_kind(),
                                " width group this model does not slim or scale per unit; adaptive width acts on (")
                       : std::string("' is not a site of this model ("),
                 [&] {
                   std::string s;
                   for (const auto& n : all) s += (s.empty() ? "" : ", ") + n;
                   return s;
                 }(), ")");
  }
  for (const auto& site : all) {  // forward order whatever the option's order
    if (std::find(names.begin(), names.end(), site) == names.end()) continue;
    if (model.params().has_parameter(rate_parameter(site))) continue;
    const auto s = model.site(site);
    const auto& like = unit_tensor(model, s);
    SPROUT_CHECK(s.width >= 2, ConfigError, "--model.",
                 !s.inner() ? "adaptive_sites" : s.kind == WidthSite::Kind::Conv ? "conv" : "widths", ": ",
                 s.inner() ? "site " : "group ", site, " has ", s.width, " units; adaptive width needs at least 2");
    const double raw = raw_for_width(model.site(site).width, spec.q);
    model.params().add_parameter(rate_parameter(site), torch::full({1}, raw, like.options().requires_grad(false)));
  }
}

std::vector<std::string> adaptive_sites(const Model& model) {
  std::vector<std::string> out;
  for (const auto& site : adaptable(model)) {
    if (model.params().has_parameter(rate_parameter(site))) out.push_back(site);
  }
  return out;
}

std::map<std::string, torch::Tensor> unit_scales(const Model& model, double rate_floor,
                                                 const std::map<std::string, int64_t>* active) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& site : adaptive_sites(model)) {
    auto lambda = rate(model.params().parameter(rate_parameter(site)), rate_floor);  // (1)
    auto p = importance(lambda, model.site(site).width);                           // (width)
    if (active) {
      auto it = active->find(site);
      if (it != active->end() && it->second < p.size(0)) p = p.narrow(0, 0, it->second);
    }
    out[site] = p;
  }
  return out;
}

torch::Tensor adaptive_forward(Model& model, const torch::Tensor& x, ForwardOptions options, double rate_floor) {
  const auto scales = unit_scales(model, rate_floor, options.active);
  options.unit_scale = &scales;
  return model.forward(x, options);
}

std::map<std::string, int64_t> target_widths(const Model& model, const AdaptiveSpec& spec) {
  std::map<std::string, int64_t> out;
  for (const auto& site : adaptive_sites(model)) {
    const double lambda = std::max(softplus(raw_value(model, site)), spec.rate_floor);  // (1), in double
    out[site] = truncation_width(lambda, spec.q, spec.max_width);
  }
  return out;
}

torch::Tensor log_prior(const Model& model, const AdaptivePrior& prior, double rate_floor) {
  const auto& p = model.params();
  torch::Tensor theta_sq, rate_sq;
  for (size_t i = 0; i < p.num_parameters(); ++i) {
    const auto& t = p.parameter(i);
    if (site_of(p.parameter_name(i)).empty()) {
      auto s = t.pow(2).sum();
      theta_sq = theta_sq.defined() ? theta_sq + s : s;
    } else {
      auto s = (rate(t, rate_floor) - prior.rate_mean).pow(2).sum();
      rate_sq = rate_sq.defined() ? rate_sq + s : s;
    }
  }
  auto out = theta_sq.defined() ? -theta_sq / (2 * prior.sigma_theta * prior.sigma_theta) : torch::zeros({});
  if (rate_sq.defined()) out = out - rate_sq / (2 * prior.rate_scale * prior.rate_scale);
  return out;  // (4) without constants
}

SiteTensors truncate_units(const SiteTensors& t, int64_t n) {
  SPROUT_CHECK(n >= 0 && n <= t.width(), Error, "truncate_units: ", n, " units of ", t.width());
  auto head = [n](const torch::Tensor& x) { return x.defined() ? x.narrow(0, 0, n).clone() : x; };
  SiteTensors out;
  out.fan_in = head(t.fan_in);
  out.bias = head(t.bias);
  out.fan_out = head(t.fan_out);
  out.norm_weight = head(t.norm_weight);
  out.norm_bias = head(t.norm_bias);
  out.running_mean = head(t.running_mean);
  out.running_var = head(t.running_var);
  return out;
}

runtime::SurgeryPlan resize_plan(const Model& model, const std::map<std::string, int64_t>& widths, double new_std,
                                 at::Generator& gen) {
  runtime::SurgeryPlan plan;
  // Sites are resized one after another in forward order; a consumer shared with the next
  // site's producer (fc2 is site fc1's consumer and site fc2's producer) must be written
  // once with both changes, so the tensors are tracked by name across sites.
  std::map<std::string, torch::Tensor> current;
  for (size_t i = 0; i < model.params().num_parameters(); ++i) {
    current[model.params().parameter_name(i)] = model.params().parameter(i).detach();
  }
  runtime::ParamSet view;  // the model's tensors as changed so far
  for (const auto& [name, t] : current) view.add_parameter(name, t.clone());
  for (size_t i = 0; i < model.params().buffers().size(); ++i) {
    view.add_buffer(model.params().buffer_names()[i], model.params().buffers()[i].clone());
  }
  for (const auto& name : adaptable(model)) {
    auto it = widths.find(name);
    if (it == widths.end()) continue;
    WidthSite s = model.site(name);
    s.width = width_in(view, s);
    const int64_t target = it->second;
    if (target == s.width) continue;
    runtime::SurgeryPlan one;
    if (!s.inner()) {
      // A group: shrink keeps its leading units (shrink_plan); growth appends units whose
      // producer rows and consumer columns are drawn like an inner site's, norms at identity.
      if (target < s.width) {
        one = shrink_plan(view, s, target);
      } else {
        auto extra = new_group_units(view, s, target - s.width);
        for (auto* x : {&extra.fan_in, &extra.fan_out}) x->normal_(0.0, new_std, gen);
        write_group(view, s, append_units(read_group(view, s), extra), one);
      }
      for (auto& [tensor, value] : one.parameters) view.set_parameter(tensor, value);
      for (auto& [tensor, value] : one.buffers) view.set_buffer(tensor, value);
      continue;
    }
    auto t = read_site(view, s);
    if (target < s.width) {
      t = truncate_units(t, target);
    } else {
      auto extra = new_units(t, target - s.width);
      // Drawn on the CPU from the CPU generator whatever the model's device.
      auto draw = [&](torch::Tensor& x) {
        auto cpu = torch::empty(x.sizes(), x.options().device(torch::kCPU));
        cpu.normal_(0.0, new_std, gen);
        x = cpu.to(x.device());
      };
      draw(extra.fan_in);
      draw(extra.bias);
      draw(extra.fan_out);
      t = append_units(t, extra);
    }
    write_site(view, s, t, one);
    for (auto& [name, value] : one.parameters) view.set_parameter(name, value);
    for (auto& [name, value] : one.buffers) view.set_buffer(name, value);
  }
  // Everything whose shape changed goes into the plan, once.
  for (const auto& [name, old] : current) {
    const auto& now = view.parameter(name);
    if (now.sizes() != old.sizes()) plan.parameters.emplace_back(name, now.detach().contiguous());
  }
  for (size_t i = 0; i < model.params().buffers().size(); ++i) {
    const auto& name = model.params().buffer_names()[i];
    if (view.buffer(name).sizes() != model.params().buffers()[i].sizes()) {
      plan.buffers.emplace_back(name, view.buffer(name).contiguous());
    }
  }
  return plan;
}

std::map<std::string, int64_t> adapt_widths(runtime::Surgery& surgery, Model& model,
                                            const std::map<std::string, int64_t>& widths, int64_t step,
                                            double new_std, uint64_t seed) {
  std::map<std::string, int64_t> changed;
  std::ostringstream decision;
  decision << "adaptive step " << step << ":";
  for (const auto& name : adaptable(model)) {
    const auto s = model.site(name);
    auto it = widths.find(s.name);
    if (it == widths.end() || it->second == s.width) continue;
    changed[s.name] = s.width;
    decision << " " << s.name << " " << s.width << "->" << it->second;
  }
  surgery.quiesce(step);
  surgery.decide(decision.str());  // a rank whose λ (hence D) differs fails here, on every rank
  const auto plan = surgery.compute_on_root([&] {
    auto gen = compat::make_generator(seed);
    return resize_plan(model, widths, new_std, gen);
  });
  surgery.apply(plan);
  surgery.commit();
  return changed;
}

}  // namespace sprout::growth
