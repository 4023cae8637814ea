// GradMax for a new block (growth/README.md "Growing in depth"): the block's inner site and
// heads grow from nothing, exactly as GradMax grows width (strategies/gradmax.cpp).
//
// With `gradmax` the zero-started layers are the block's fan-in (ResNet conv1; ViT qkv and
// fc1) and the chosen ones its fan-out (conv2; proj and fc2): the block is the identity as
// with the other strategies, and the gradient its zero layers receive is linear in the
// chosen weights, so GradMax's closed form holds exactly. On the "probe" — the grown model
// with every new weight 0 — the block's inner site is a site of width k whose units all have
// zero fan-in, and its heads are heads with zero q, k, v: M is growth_matrix() of the site
// (ResNet: conv1 3×3 → clamp_min, slope 1 at 0 → conv2 3×3; ViT: fc1 → GELU, slope 1/2 →
// fc2, over tokens) and heads_growth_matrix() of the heads, and the fan-out is
// gradmax_fan_out(M, k, c): ‖∂L/∂W_fan-in‖_F = c·sqrt(σ_1² + … + σ_k²) per site.
#include <set>

#include "growth/depth.h"
#include "growth/site_resize.h"
#include "growth/strategies/gradient_statistics.h"
#include "runtime/error.h"

namespace sprout::growth {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// The inner sites and heads groups of the new blocks, in the probe's order.
std::vector<WidthSite> new_groups(const Model& probe, const std::vector<AddedBlock>& blocks) {
  std::vector<WidthSite> out;
  for (const auto& g : probe.groups()) {
    if (g.group == WidthSite::Group::Residual) continue;
    for (const auto& b : blocks) {
      if (starts_with(g.name, b.prefix + ".")) out.push_back(g);
    }
  }
  return out;
}

// The norm c of a new fan-out column: growth.scale, or (mean_norm) growth.scale × the mean
// norm of the fan-out columns of the same group of the block the new one copies.
double column_norm(const StrategyOptions& options, const Model& model, const std::vector<AddedBlock>& blocks,
                   const WidthSite& g) {
  std::string like;
  for (const auto& b : blocks) {
    if (!starts_with(g.name, b.prefix + ".")) continue;
    std::string source = b.like;  // followed through the other new blocks to an existing one
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
      if (it->prefix == source) source = it->like;
    }
    like = source + g.name.substr(b.prefix.size());
  }
  const auto& params = model.params();
  if (options.scale_mode == "fixed" || like.empty()) return options.scale;
  const WidthSite old = model.site(like);
  if (old.inner()) return fan_out_norm(options, read_site(params, old));
  return fan_out_norm(options, params.parameter(old.consumers.front().tensor).detach().to(torch::kCPU).t());
}

}  // namespace

std::unique_ptr<Model> depth_probe(const Model& model, const std::vector<AddedBlock>& blocks, uint64_t seed) {
  auto probe = build_model(blocks.back().arch, seed);
  auto& p = probe->params();
  torch::NoGradGuard no_grad;
  const auto& old = model.params();
  for (size_t i = 0; i < old.num_parameters(); ++i) {
    p.set_parameter(old.parameter_name(i), old.parameter(i).detach().to(torch::kCPU).clone());
  }
  for (const auto& n : old.buffer_names()) p.set_buffer(n, old.buffer(n).to(torch::kCPU).clone());
  for (const auto& b : blocks) {
    for (const auto* list : {&b.zero, &b.partners}) {
      for (const auto& n : *list) p.set_parameter(n, torch::zeros_like(p.parameter(n)));
    }
  }
  return probe;
}

std::map<std::string, torch::Tensor> depth_gradmax_statistics(runtime::Communicator& comm, const Model& model,
                                                              const std::vector<AddedBlock>& blocks,
                                                              const GrowthBatch& batch, uint64_t seed) {
  auto probe = depth_probe(model, blocks, seed);
  std::map<std::string, torch::Tensor> out;
  for (const auto& g : new_groups(*probe, blocks)) {  // the same order on every rank
    auto m = g.inner() ? growth_matrix(*probe, g, batch) : heads_growth_matrix(*probe, g, batch);
    comm.allreduce(m, runtime::ReduceOp::Sum);
    out[g.name] = m;
  }
  return out;
}

void choose_gradmax_fan_outs(Model& probe, const Model& model, const std::vector<AddedBlock>& blocks,
                             const std::map<std::string, torch::Tensor>& statistics, const StrategyOptions& options,
                             at::Generator& gen) {
  auto& params = probe.params();
  for (const auto& g : new_groups(probe, blocks)) {
    const auto it = statistics.find(g.name);
    SPROUT_CHECK(it != statistics.end(), Error, "depth gradmax: no statistics for ", g.name);
    const auto m = it->second.to(torch::kCPU);
    const double c = column_norm(options, model, blocks, g);
    runtime::SurgeryPlan plan;
    if (g.inner()) {
      auto t = read_site(params, g);  // k units, all zero
      t.fan_out = gradmax_fan_out(m, g.width, c, gen).to(t.fan_out.scalar_type());
      write_site(params, g, t, plan);
    } else {
      const auto& slice = g.consumers.front();  // proj.weight, d_h columns per head
      const int64_t hd = slice.unit, d_out = params.parameter(slice.tensor).size(0);
      auto t = read_group(params, g);
      t.fan_out = gradmax_fan_out(m, g.width * hd, c, gen).reshape({g.width, hd * d_out}).to(t.fan_out.scalar_type());
      write_group(params, g, t, plan);
    }
    torch::NoGradGuard no_grad;
    for (const auto& [name, value] : plan.parameters) params.set_parameter(name, value);
    for (const auto& [name, value] : plan.buffers) params.set_buffer(name, value);
  }
}

}  // namespace sprout::growth
