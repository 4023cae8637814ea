#include "growth/depth.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "runtime/error.h"
#include "runtime/optim/optimizer.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

bool in(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

bool in_block(const std::string& name, const std::vector<AddedBlock>& blocks) {
  const auto under = [&](const std::string& module) {
    return !module.empty() && name.compare(0, module.size() + 1, module + ".") == 0;
  };
  for (const auto& b : blocks) {
    if (under(b.prefix) || under(b.norm)) return true;  // an identity layer's norm is a module of its own
  }
  return false;
}

// The tensors of `names` (the grown model's order) that belong to the new blocks, with
// their values, in that order.
void add_in_order(const std::vector<std::string>& names, const std::vector<AddedBlock>& blocks,
                  const std::function<torch::Tensor(const std::string&)>& value, runtime::SurgeryPlan::Named& out) {
  for (const auto& name : names) {
    if (in_block(name, blocks)) out.emplace_back(name, value(name));
  }
}

// `params` re-listed in the order of `model` (the grown architecture's), taking the new
// tensors from `added`: what ParamSet would hold had the model been built grown. Bound
// tensors stay bound; the version rises above the old one.
runtime::ParamSet relisted(const runtime::ParamSet& params, const runtime::ParamSet& order,
                           const runtime::SurgeryPlan& added, const torch::Device& device) {
  std::map<std::string, torch::Tensor> fresh;
  for (const auto* list : {&added.parameters, &added.buffers}) {
    for (const auto& [name, t] : *list) fresh[name] = t.to(device, /*non_blocking=*/false, /*copy=*/true);
  }
  runtime::ParamSet out;
  for (const auto& name : order.parameter_names()) {
    if (params.has_parameter(name)) {
      if (params.is_bound(name)) {
        out.bind_parameter(name, params.parameter(name));
      } else {
        out.add_parameter(name, params.parameter(name));
      }
    } else {
      SPROUT_CHECK(fresh.count(name), Error, "depth growth: no tensor for new parameter ", name);
      out.add_parameter(name, fresh.at(name));
    }
  }
  for (const auto& name : order.buffer_names()) {
    if (params.has_buffer(name)) {
      if (params.is_bound(name)) {
        out.bind_buffer(name, params.buffer(name));
      } else {
        out.add_buffer(name, params.buffer(name));
      }
    } else {
      SPROUT_CHECK(fresh.count(name), Error, "depth growth: no tensor for new buffer ", name);
      out.add_buffer(name, fresh.at(name));
    }
  }
  SPROUT_CHECK(out.num_parameters() == params.num_parameters() + added.parameters.size(), Error,
               "depth growth: the grown model does not hold every old parameter");
  while (out.version() <= params.version()) out.bump_version();
  return out;
}

// The block an added block copies, followed through other added blocks to an existing one.
std::string existing_like(const std::vector<AddedBlock>& blocks, std::string like) {
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    if (it->prefix == like) like = it->like;
  }
  return like;
}

// Variance transfer's learning-rate adaptation for a new block (growth/README.md "Growing
// in depth"): each new tensor learns at η·‖W_new‖/‖W_like‖, W_like the same tensor of the
// existing block the new one copies; 1 where either norm is 0 (the zero-started layers).
// Computed from tensors every rank holds bitwise equal, so every rank sets the same scales.
void set_block_lr_scales(runtime::Optimizer& optimizer, const runtime::ParamSet& params,
                         const std::vector<AddedBlock>& blocks, const runtime::SurgeryPlan& added) {
  for (const auto& entry : added.parameters) {
    const std::string& name = entry.first;
    std::string like;
    for (const auto& b : blocks) {
      if (name.compare(0, b.prefix.size() + 1, b.prefix + ".") == 0) {
        like = existing_like(blocks, b.like) + name.substr(b.prefix.size());
      }
    }
    const auto& p = params.parameter(name);
    double ratio = 1.0;
    if (!like.empty() && params.has_parameter(like)) {
      const double base = params.parameter(like).detach().norm().item<double>();
      const double mine = p.detach().norm().item<double>();
      if (base > 0 && mine > 0) ratio = mine / base;
    }
    optimizer.set_lr_scale(name, torch::full_like(p.detach(), ratio));
  }
}

// Net2DeeperNet: each new layer's weight the identity (Linear: I; 3×3 conv: the Dirac
// kernel, 1 at the centre tap of channel i -> i), its bias 0 (AddedBlock::zero, set by the
// caller), and its norm γ = sqrt(running_var + eps), β = running_mean: the identity in
// eval mode (train mode normalises with the batch's own statistics: not the identity).
void set_identity(Model& fresh, const std::vector<AddedBlock>& blocks) {
  torch::NoGradGuard no_grad;
  auto& p = fresh.params();
  for (const auto& b : blocks) {
    for (const auto& name : b.partners) {
      const auto& t = p.parameter(name);
      SPROUT_CHECK(t.size(0) == t.size(1), Error, "net2net depth: ", name, " is not square");
      auto w = torch::zeros_like(t);
      if (t.dim() == 2) {
        w.copy_(torch::eye(t.size(0), t.options()));
      } else {
        for (int64_t c = 0; c < t.size(0); ++c) w[c][c][t.size(2) / 2][t.size(3) / 2] = 1.0;
      }
      p.set_parameter(name, w);
    }
    if (!b.norm.empty()) {
      const double eps = 1e-5;  // layers.h batch_norm's
      p.set_parameter(b.norm + ".weight", (p.buffer(b.norm + ".running_var") + eps).sqrt());
      p.set_parameter(b.norm + ".bias", p.buffer(b.norm + ".running_mean").clone());
    }
  }
}

}  // namespace

std::vector<std::string> depth_strategy_names() { return {"random", "zeros", "gradmax", "vt"}; }

std::vector<std::string> depth_strategy_names(const std::string& kind) {
  const DepthFamily* family = depth_family(kind);
  return family ? family->depth_strategies() : std::vector<std::string>{};
}

std::string depth_kinds() {
  std::string s;
  for (const auto& kind : model_family_names()) {
    if (depth_family(kind)) s += (s.empty() ? "" : ", ") + kind;
  }
  return s;
}

std::vector<std::string> zero_started(const AddedBlock& block, const std::string& strategy) {
  return strategy == "gradmax" ? block.partners : block.zero;
}

std::string depth_refusal(const std::string& strategy, const std::string& kind) {
  const DepthFamily* family = depth_family(kind);
  if (!family) return concat("model.kind ", kind, " cannot grow in depth (", depth_kinds(), " can)");
  const auto strategies = family->depth_strategies();
  if (in(strategies, strategy)) return "";
  std::string known;
  for (const auto& s : strategies) known += (known.empty() ? "" : ", ") + s;
  if (strategy == "net2net") {
    return concat("a new residual block is already the identity with its last layer at 0 (Net2DeeperNet's "
                  "identity layer is not needed); use ", known);
  }
  if (family->depth_unit() == "layer" && in(depth_strategy_names(), strategy)) {
    return concat("a layer inserted into a ", kind, " has no residual branch to start at 0: only the identity layer "
                  "keeps the function (use net2net)");
  }
  return concat("not implemented for ", family->depth_unit(), "s (depth strategies of ", kind, ": ", known, ")");
}

void check_depth_accepts(const std::string& strategy, const ArchSpec& spec, const std::string& place) {
  SPROUT_CHECK(depth_family(spec.kind), ConfigError, "model.kind ", spec.kind, " cannot grow in depth (", depth_kinds(),
               " can)");
  const std::string why = depth_refusal(strategy, spec.kind);
  SPROUT_CHECK(why.empty(), ConfigError, "--growth.strategy ", strategy, " cannot grow model.kind ", spec.kind,
               " in depth: ", why);
  const auto places = depth_family(spec.kind)->depth_places(spec);
  if (!in(places, place.substr(0, place.find('@')))) {  // "stage2@1": a position the family checks
    std::string known;
    for (const auto& p : places) known += (known.empty() ? "" : ", ") + p;
    throw ConfigError(concat("no place '", place, "' to add ", depth_family(spec.kind)->depth_unit(), "s at (this ",
                             spec.kind, " has: ", known.empty() ? "none" : known, ")"));
  }
}

std::vector<AddedBlock> add_blocks(const ArchSpec& spec, const std::string& place, int64_t count) {
  SPROUT_CHECK(count >= 1 && count <= 64, ConfigError, "depth growth: ", count, " blocks at once (1..64)");
  const DepthFamily* family = depth_family(spec.kind);
  SPROUT_CHECK(family, ConfigError, "model.kind ", spec.kind, " cannot grow in depth (", depth_kinds(), " can)");
  std::vector<AddedBlock> out;
  ArchSpec at = spec;
  // "stage2@k": the i-th block goes at k + i, so the blocks run in the order added.
  const auto marker = place.find('@');
  int64_t position = 0;
  if (marker != std::string::npos) {
    const std::string k = place.substr(marker + 1);
    const bool digits = !k.empty() && k.size() < 4 && std::all_of(k.begin(), k.end(), ::isdigit);
    SPROUT_CHECK(digits, ConfigError, "depth growth: '", place, "' is not PLACE@POSITION (e.g. stage2@1)");
    position = std::stoll(k);
  }
  for (int64_t i = 0; i < count; ++i) {
    const std::string where = marker == std::string::npos ? place : concat(place.substr(0, marker), "@", position + i);
    out.push_back(family->add_block(at, where));
    at = out.back().arch;
  }
  return out;
}

runtime::SurgeryPlan depth_plan(const Model& model, const std::vector<AddedBlock>& blocks, const std::string& strategy,
                                uint64_t seed, const std::map<std::string, torch::Tensor>* statistics,
                                const StrategyOptions& options) {
  SPROUT_CHECK(!blocks.empty(), Error, "depth growth: no block to add");
  const std::string why = depth_refusal(strategy, model.arch().kind);
  SPROUT_CHECK(why.empty(), ConfigError, "--growth.strategy ", strategy, " cannot grow in depth: ", why);
  // The family's own initialisation of the grown model, drawn from the event seed; only the
  // new blocks' tensors are taken from it.
  std::unique_ptr<Model> fresh;
  if (strategy == "gradmax") {
    SPROUT_CHECK(statistics, Error, "depth gradmax: no statistics");
    fresh = depth_probe(model, blocks, seed);
    auto gen = compat::make_generator(seed);
    choose_gradmax_fan_outs(*fresh, model, blocks, *statistics, options, gen);
  } else {
    fresh = build_model(blocks.back().arch, seed);
  }
  if (strategy == "net2net") set_identity(*fresh, blocks);
  if (strategy == "vt") {
    // Variance transfer's scale: weights N(0, 1/fan_in), biases 0.
    auto gen = compat::make_generator(seed ^ 0x5654ULL);
    torch::NoGradGuard no_grad;
    for (const auto& b : blocks) {
      for (const auto& name : b.partners) {
        const auto& t = fresh->params().parameter(name);
        const bool weight = t.dim() > 1;
        const double fan_in = weight ? static_cast<double>(t.numel() / t.size(0)) : 1.0;
        fresh->params().set_parameter(
            name, weight ? at::normal(0.0, 1.0 / std::sqrt(fan_in), t.sizes(), gen).to(t.scalar_type())
                         : torch::zeros_like(t));
      }
    }
  }
  const auto& p = fresh->params();
  std::set<std::string> zero;
  for (const auto& b : blocks) {
    const auto z = zero_started(b, strategy);
    zero.insert(z.begin(), z.end());
    if (strategy == "zeros") zero.insert(b.partners.begin(), b.partners.end());
  }
  runtime::SurgeryPlan plan;
  add_in_order(
      p.parameter_names(), blocks,
      [&](const std::string& name) {
        const auto t = p.parameter(name).detach().clone();
        return zero.count(name) ? torch::zeros_like(t) : t;
      },
      plan.parameters);
  add_in_order(
      p.buffer_names(), blocks, [&](const std::string& name) { return p.buffer(name).detach().clone(); },
      plan.buffers);
  return plan;
}

std::vector<AddedBlock> grow_depth(runtime::Surgery& surgery, Model& model, const std::string& place, int64_t count,
                                   const std::string& strategy, int64_t step, uint64_t seed,
                                   runtime::Optimizer* optimizer, const GrowthBatch* batch,
                                   const StrategyOptions& options) {
  auto* deep = dynamic_cast<DepthModel*>(&model);
  surgery.quiesce(step);
  const ArchSpec before = model.arch();
  check_depth_accepts(strategy, before, place);  // the same verdict on every rank
  SPROUT_CHECK(deep, Error, "model.kind ", before.kind, " has a depth family but its model cannot grow in depth");
  const auto blocks = add_blocks(before, place, count);
  surgery.decide(concat("depth ", place, " +", count, " ", strategy, " -> ", blocks.back().arch.serialize()));
  // The plan holds the new tensors only: they are not in the parameter set yet, so it is
  // installed here, by re-listing the set, and apply() gets nothing to replace.
  std::map<std::string, torch::Tensor> statistics;
  if (strategy == "gradmax") {
    const GrowthBatch none;
    statistics = depth_gradmax_statistics(surgery.comm(), model, blocks, batch ? *batch : none, seed);
  }
  const auto added =
      surgery.compute_on_root([&] { return depth_plan(model, blocks, strategy, seed, &statistics, options); });
  const auto order = build_model(blocks.back().arch, seed);  // names in the grown model's order
  auto& params = model.params();
  const torch::Device device = params.num_parameters() > 0 ? params.parameter(size_t{0}).device() : torch::kCPU;
  {
    torch::NoGradGuard no_grad;
    params = relisted(params, order->params(), added, device);
  }
  deep->adopt(blocks.back().arch);
  if (surgery.options().test_corrupt_rank == surgery.comm().rank() && !added.parameters.empty()) {
    // Test hook (runtime/surgery/surgery.h): this replica's first new tensor differs.
    torch::NoGradGuard no_grad;
    params.parameter(added.parameters.front().first).detach().view({-1})[0].add_(1e-3);
  }
  if (optimizer) optimizer->ensure_state(params);  // zero state, step 0, for the new tensors
  if (optimizer && strategy == "vt") set_block_lr_scales(*optimizer, params, blocks, added);
  surgery.apply(runtime::SurgeryPlan{});
  surgery.commit();
  return blocks;
}

bool adds_blocks(const Model& model, const ArchSpec& stored) {
  const ArchSpec current = model.arch();
  const DepthFamily* family = current.kind == stored.kind ? depth_family(current.kind) : nullptr;
  return family && family->with_added_blocks(current, stored) != current;
}

void take_added_blocks(Model& model, const ArchSpec& stored) {
  if (!adds_blocks(model, stored)) return;
  auto* deep = dynamic_cast<DepthModel*>(&model);
  SPROUT_CHECK(deep, Error, "model.kind ", stored.kind, ": its model cannot grow in depth");
  const auto like = build_model(stored, 0);
  auto& params = model.params();
  runtime::SurgeryPlan added;
  for (size_t i = 0; i < like->params().num_parameters(); ++i) {
    const auto& name = like->params().parameter_name(i);
    if (!params.has_parameter(name)) added.parameters.emplace_back(name, like->params().parameter(i).detach());
  }
  for (const auto& name : like->params().buffer_names()) {
    if (!params.has_buffer(name)) added.buffers.emplace_back(name, like->params().buffer(name));
  }
  const torch::Device device = params.num_parameters() > 0 ? params.parameter(size_t{0}).device() : torch::kCPU;
  {
    torch::NoGradGuard no_grad;
    params = relisted(params, like->params(), added, device);
  }
  deep->adopt(stored);
}

double parameters_grad_norm(runtime::Communicator& comm, Model& model, const std::vector<std::string>& names,
                            const GrowthBatch& batch) {
  auto& params = model.params();
  int64_t total = 0;
  for (const auto& n : names) total += params.parameter(n).numel();
  auto g = torch::zeros({total}, torch::dtype(torch::kFloat64).device(params.parameter(names.front()).device()));
  if (batch.x.defined() && batch.x.size(0) > 0) {
    params.zero_grad();
    auto logits = model.forward(batch.x, false);
    auto loss = at::cross_entropy_loss(logits, batch.y, {}, at::Reduction::Sum) / static_cast<double>(batch.global_size);
    loss.backward();
    int64_t at = 0;
    for (const auto& n : names) {
      const auto& t = params.parameter(n);
      if (t.grad().defined()) g.narrow(0, at, t.numel()).copy_(t.grad().detach().reshape({-1}));
      at += t.numel();
    }
  }
  params.zero_grad();
  comm.allreduce(g, runtime::ReduceOp::Sum);
  return g.norm().item<double>();
}

}  // namespace sprout::growth
