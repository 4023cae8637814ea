#include "growth/site_resize.h"

#include "runtime/error.h"

namespace sprout::growth {

namespace {

bool conv_consumer(const runtime::ParamSet& p, const WidthSite& s) {
  return p.parameter(s.consumer + ".weight").dim() == 4;
}

// Consumer weight -> (n, F_out).
torch::Tensor unit_major(const torch::Tensor& w, int64_t n, bool conv) {
  const int64_t out = w.size(0);
  if (conv) return w.permute({1, 0, 2, 3}).reshape({n, -1});  // (out, n, k, k) -> (n, out·k·k)
  const int64_t g = w.size(1) / n;
  return w.reshape({out, n, g}).permute({1, 0, 2}).reshape({n, out * g});  // (out, n·g) -> (n, out·g)
}

// (n, F_out) -> the consumer weight layout.
torch::Tensor consumer_layout(const torch::Tensor& fan_out, const torch::Tensor& old_w, bool conv) {
  const int64_t n = fan_out.size(0), out = old_w.size(0);
  if (conv) {
    const int64_t k = old_w.size(2);
    return fan_out.reshape({n, out, k, k}).permute({1, 0, 2, 3}).contiguous();
  }
  const int64_t g = fan_out.size(1) / out;
  return fan_out.reshape({n, out, g}).permute({1, 0, 2}).reshape({out, n * g}).contiguous();
}

torch::Tensor cat0(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.defined()) return a;
  return torch::cat({a, b}, 0);
}

}  // namespace

int64_t fan_in_size(const runtime::ParamSet& p, const WidthSite& s) {
  const auto& w = p.parameter(s.producer + ".weight");
  return w.numel() / w.size(0);
}

int64_t fan_out_size(const runtime::ParamSet& p, const WidthSite& s) {
  const auto& w = p.parameter(s.consumer + ".weight");
  const int64_t n = p.parameter(s.producer + ".weight").size(0);
  return w.numel() / n;
}

SiteTensors read_site(const runtime::ParamSet& p, const WidthSite& s) {
  torch::NoGradGuard no_grad;
  SiteTensors t;
  const auto& w_in = p.parameter(s.producer + ".weight");
  const int64_t n = w_in.size(0);
  t.fan_in = w_in.detach().reshape({n, -1}).to(torch::kCPU, false, true);
  t.bias = p.parameter(s.producer + ".bias").detach().to(torch::kCPU, false, true);
  const auto& w_out = p.parameter(s.consumer + ".weight");
  const bool conv = conv_consumer(p, s);
  SPROUT_CHECK(conv ? w_out.size(1) == n : w_out.size(1) == n * s.consumer_group, Error, "site ", s.name,
               ": consumer ", s.consumer, " has ", w_out.size(1), " inputs for ", n, " units of group ",
               s.consumer_group);
  t.fan_out = unit_major(w_out.detach(), n, conv).to(torch::kCPU, false, true);
  if (!s.norm.empty()) {
    t.norm_weight = p.parameter(s.norm + ".weight").detach().to(torch::kCPU, false, true);
    t.norm_bias = p.parameter(s.norm + ".bias").detach().to(torch::kCPU, false, true);
    t.running_mean = p.buffer(s.norm + ".running_mean").to(torch::kCPU, false, true);
    t.running_var = p.buffer(s.norm + ".running_var").to(torch::kCPU, false, true);
  }
  return t;
}

SiteTensors new_units(const SiteTensors& like, int64_t k) {
  SiteTensors t;
  const auto opt = like.fan_in.options();
  t.fan_in = torch::zeros({k, like.fan_in.size(1)}, opt);
  t.bias = torch::zeros({k}, like.bias.options());
  t.fan_out = torch::zeros({k, like.fan_out.size(1)}, like.fan_out.options());
  if (like.has_norm()) {
    t.norm_weight = torch::ones({k}, like.norm_weight.options());
    t.norm_bias = torch::zeros({k}, like.norm_bias.options());
    t.running_mean = torch::zeros({k}, like.running_mean.options());
    t.running_var = torch::ones({k}, like.running_var.options());
  }
  return t;
}

SiteTensors append_units(const SiteTensors& a, const SiteTensors& b) {
  SiteTensors t;
  t.fan_in = cat0(a.fan_in, b.fan_in);
  t.bias = cat0(a.bias, b.bias);
  t.fan_out = cat0(a.fan_out, b.fan_out);
  t.norm_weight = cat0(a.norm_weight, b.norm_weight);
  t.norm_bias = cat0(a.norm_bias, b.norm_bias);
  t.running_mean = cat0(a.running_mean, b.running_mean);
  t.running_var = cat0(a.running_var, b.running_var);
  return t;
}

void write_site(const runtime::ParamSet& p, const WidthSite& s, const SiteTensors& t, runtime::SurgeryPlan& plan) {
  const auto& w_in = p.parameter(s.producer + ".weight");
  std::vector<int64_t> in_shape(w_in.sizes().begin(), w_in.sizes().end());
  in_shape[0] = t.width();
  plan.parameters.emplace_back(s.producer + ".weight", t.fan_in.reshape(in_shape).contiguous());
  plan.parameters.emplace_back(s.producer + ".bias", t.bias.contiguous());
  plan.parameters.emplace_back(
      s.consumer + ".weight", consumer_layout(t.fan_out, p.parameter(s.consumer + ".weight"), conv_consumer(p, s)));
  if (!s.norm.empty()) {
    SPROUT_CHECK(t.has_norm(), Error, "site ", s.name, ": norm ", s.norm, " has no values in the plan");
    plan.parameters.emplace_back(s.norm + ".weight", t.norm_weight.contiguous());
    plan.parameters.emplace_back(s.norm + ".bias", t.norm_bias.contiguous());
    plan.buffers.emplace_back(s.norm + ".running_mean", t.running_mean.contiguous());
    plan.buffers.emplace_back(s.norm + ".running_var", t.running_var.contiguous());
  }
}

}  // namespace sprout::growth

namespace sprout::growth {

namespace {

// (…, n·unit along dim, …) -> (n, unit·rest): unit u's entries as one row.
torch::Tensor unit_rows(const torch::Tensor& t, const GroupSlice& s, int64_t n) {
  SPROUT_CHECK(t.size(s.dim) == n * s.unit, Error, s.tensor, ": size ", t.size(s.dim), " along dim ", s.dim, " is not ",
               n, " units of ", s.unit);
  auto moved = t.movedim(s.dim, 0);  // (n·unit, rest…)
  return moved.reshape({n, -1});
}

// Rows (n, unit·rest) back to the layout of `like` with n units.
torch::Tensor slice_layout(const torch::Tensor& rows, const GroupSlice& s, const torch::Tensor& like) {
  const int64_t n = rows.size(0);
  std::vector<int64_t> shape(like.sizes().begin(), like.sizes().end());
  shape[s.dim] = n * s.unit;
  std::vector<int64_t> moved_shape{shape[s.dim]};
  for (int64_t d = 0; d < like.dim(); ++d) {
    if (d != s.dim) moved_shape.push_back(shape[d]);
  }
  return rows.reshape(moved_shape).movedim(0, s.dim).contiguous();
}

const torch::Tensor& tensor_of(const runtime::ParamSet& p, const GroupSlice& s) {
  return s.buffer ? p.buffer(s.tensor) : p.parameter(s.tensor);
}

torch::Tensor read_slices(const runtime::ParamSet& p, const std::vector<GroupSlice>& slices, int64_t n) {
  std::vector<torch::Tensor> parts;
  for (const auto& s : slices) parts.push_back(unit_rows(tensor_of(p, s).detach(), s, n).to(torch::kCPU, false, true));
  if (parts.empty()) return torch::zeros({n, 0});
  return torch::cat(parts, 1);
}

int64_t row_size(const runtime::ParamSet& p, const GroupSlice& s, int64_t n) { return tensor_of(p, s).numel() / n; }

torch::Tensor filled_rows(const runtime::ParamSet& p, const std::vector<GroupSlice>& slices, int64_t n, int64_t k) {
  std::vector<torch::Tensor> parts;
  for (const auto& s : slices) {
    parts.push_back(torch::full({k, row_size(p, s, n)}, s.fill, tensor_of(p, s).options().device(torch::kCPU)));
  }
  if (parts.empty()) return torch::zeros({k, 0});
  return torch::cat(parts, 1);
}

void write_slices(const runtime::ParamSet& p, const std::vector<GroupSlice>& slices, int64_t old_n,
                  const torch::Tensor& rows, runtime::SurgeryPlan& plan) {
  int64_t col = 0;
  for (const auto& s : slices) {
    const auto& like = tensor_of(p, s);
    const int64_t size = row_size(p, s, old_n);
    auto value = slice_layout(rows.narrow(1, col, size), s, like).to(like.scalar_type());
    col += size;
    (s.buffer ? plan.buffers : plan.parameters).emplace_back(s.tensor, value);
  }
}

std::vector<GroupSlice> inner_slices(const runtime::ParamSet& p, const WidthSite& s) {
  std::vector<GroupSlice> out{{s.producer + ".weight", 0, 1}, {s.producer + ".bias", 0, 1}};
  const bool conv = p.parameter(s.consumer + ".weight").dim() == 4;
  out.push_back({s.consumer + ".weight", 1, conv ? 1 : s.consumer_group});
  if (!s.norm.empty()) {
    out.push_back({s.norm + ".weight", 0, 1});
    out.push_back({s.norm + ".bias", 0, 1});
    out.push_back({s.norm + ".running_mean", 0, 1, 0.0, true});
    out.push_back({s.norm + ".running_var", 0, 1, 1.0, true});
    // Switchable statistics of a slimmable model (growth/slimmable/slimmable.h) are per
    // active width and keep their own sizes.
  }
  return out;
}

}  // namespace

GroupTensors read_group(const runtime::ParamSet& p, const WidthSite& g) {
  torch::NoGradGuard no_grad;
  GroupTensors t;
  t.fan_in = read_slices(p, g.producers, g.width);
  t.fan_out = read_slices(p, g.consumers, g.width);
  t.norm = read_slices(p, g.norms, g.width);
  return t;
}

GroupTensors new_group_units(const runtime::ParamSet& p, const WidthSite& g, int64_t k) {
  GroupTensors t;
  t.fan_in = filled_rows(p, g.producers, g.width, k);
  t.fan_out = filled_rows(p, g.consumers, g.width, k);
  t.norm = filled_rows(p, g.norms, g.width, k);
  return t;
}

GroupTensors append_units(const GroupTensors& a, const GroupTensors& b) {
  return {torch::cat({a.fan_in, b.fan_in}, 0), torch::cat({a.fan_out, b.fan_out}, 0), torch::cat({a.norm, b.norm}, 0)};
}

GroupTensors first_units(const GroupTensors& t, int64_t keep) {
  return {t.fan_in.narrow(0, 0, keep), t.fan_out.narrow(0, 0, keep), t.norm.narrow(0, 0, keep)};
}

void write_group(const runtime::ParamSet& p, const WidthSite& g, const GroupTensors& t, runtime::SurgeryPlan& plan) {
  write_slices(p, g.producers, g.width, t.fan_in, plan);
  write_slices(p, g.consumers, g.width, t.fan_out, plan);
  write_slices(p, g.norms, g.width, t.norm, plan);
}

runtime::SurgeryPlan shrink_plan(const runtime::ParamSet& p, const WidthSite& g, int64_t keep) {
  SPROUT_CHECK(keep >= 1 && keep <= g.width, ConfigError, "shrinking ", g.name, ": ", keep,
               " units to keep is outside [1, ", g.width, "]");
  torch::NoGradGuard no_grad;
  const auto slices = g.inner() ? inner_slices(p, g) : [&] {
    auto all = g.producers;
    all.insert(all.end(), g.consumers.begin(), g.consumers.end());
    all.insert(all.end(), g.norms.begin(), g.norms.end());
    return all;
  }();
  runtime::SurgeryPlan plan;
  for (const auto& s : slices) {
    const auto& t = tensor_of(p, s);
    auto value = t.detach().narrow(s.dim, 0, keep * (t.size(s.dim) / g.width)).to(torch::kCPU).contiguous();
    (s.buffer ? plan.buffers : plan.parameters).emplace_back(s.tensor, value);
  }
  return plan;
}

}  // namespace sprout::growth
