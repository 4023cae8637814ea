#include "runtime/optim/optimizer.h"

#include <cmath>

#include "runtime/comm/communicator.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {

void Optimizer::ensure_state(const ParamSet& params) {
  if (shard_comm_) {
    cut_state(params);
    return;
  }
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    auto& slots = state_[params.parameter_name(i)];
    for (const auto& slot : slot_names()) {
      if (!slots.count(slot)) slots[slot] = torch::zeros_like(params.parameter(i).detach());
    }
    steps_.emplace(params.parameter_name(i), 0);
  }
}

void Optimizer::step(ParamSet& params, const std::vector<torch::Tensor>& grads, double lr) {
  SPROUT_CHECK(grads.size() == params.num_parameters(), Error, "optimizer: ", grads.size(),
               " gradients for ", params.num_parameters(), " parameters");
  ensure_state(params);
  torch::NoGradGuard no_grad;
  if (sharded_) {
    update_pieces(params, grads, /*pieces=*/false, lr);
    return;
  }
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    const auto& name = params.parameter_name(i);
    auto p = params.parameter(i);
    auto it = lr_scale_.find(name);
    const torch::Tensor scale = it == lr_scale_.end() ? torch::Tensor() : it->second;
    update(p, grads[i], state_[name], ++steps_[name], lr, scale);
  }
}

void Optimizer::set_lr_scale(const std::string& param, torch::Tensor scale) {
  lr_scale_[param] = std::move(scale);
}

const torch::Tensor* Optimizer::lr_scale(const std::string& param) const {
  auto it = lr_scale_.find(param);
  return it == lr_scale_.end() ? nullptr : &it->second;
}

void Optimizer::step_on_pieces(ParamSet& params, const std::vector<torch::Tensor>& pieces, double lr) {
  SPROUT_CHECK(shard_comm_, Error, "optimizer: step_on_pieces() without sharded state");
  SPROUT_CHECK(pieces.size() == params.num_parameters(), Error, "optimizer: ", pieces.size(),
               " gradient pieces for ", params.num_parameters(), " parameters");
  ensure_state(params);
  torch::NoGradGuard no_grad;
  update_pieces(params, pieces, /*pieces=*/true, lr);
}

void Optimizer::update_pieces(ParamSet& params, const std::vector<torch::Tensor>& grads, bool pieces, double lr) {
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    const auto& name = params.parameter_name(i);
    const int64_t step = ++steps_[name];
    const auto [off, len] = plan_.piece(i);
    SPROUT_CHECK(!pieces || grads[i].numel() == len, Error, "optimizer: gradient piece of '", name, "' has ",
                 grads[i].numel(), " elements, this rank owns ", len);
    if (len == 0) continue;
    auto p = params.parameter(i).detach().view({-1}).narrow(0, off, len);
    auto it = lr_scale_.find(name);
    const torch::Tensor scale = it == lr_scale_.end() ? torch::Tensor() : it->second.reshape({-1}).narrow(0, off, len);
    update(p, pieces ? grads[i].view({-1}) : grads[i].reshape({-1}).narrow(0, off, len), state_[name], step, lr, scale);
  }
  gather_parameters(*shard_comm_, plan_, params);
}

void Optimizer::shard_state(Communicator& comm, Planner planner) {
  shard_comm_ = &comm;
  planner_ = std::move(planner);
}

Optimizer::Slots& Optimizer::slots(const std::string& param) {
  if (sharded_) gather_state();
  return state_[param];
}

std::map<std::string, Optimizer::Slots> Optimizer::full_state() {
  if (!sharded_) return state_;
  std::map<std::string, Slots> full;
  const auto options = state_.empty() || state_.begin()->second.empty()
                           ? torch::TensorOptions(torch::kFloat32)
                           : state_.begin()->second.begin()->second.options();
  for (const auto& slot : slot_names()) {
    std::vector<torch::Tensor> pieces;
    for (size_t i = 0; i < plan_.num_params(); ++i) {
      auto it = state_.find(plan_.name(i));
      pieces.push_back(it == state_.end() || !it->second.count(slot) ? torch::Tensor() : it->second.at(slot));
    }
    auto whole = gather_pieces(*shard_comm_, plan_, pieces, options);
    for (size_t i = 0; i < plan_.num_params(); ++i) full[plan_.name(i)][slot] = std::move(whole[i]);
  }
  return full;
}

void Optimizer::gather_state() {
  if (!sharded_) return;
  state_ = full_state();
  sharded_ = false;
}

void Optimizer::cut_state(const ParamSet& params) {
  auto plan = planner_ ? planner_(params) : ShardPlan::of(params, shard_comm_->size(), shard_comm_->rank());
  if (sharded_ && plan.same_cut(plan_)) {
    return;  // already in pieces for these shapes
  }
  gather_state();  // no-op unless the shapes changed while in pieces
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    const auto& name = params.parameter_name(i);
    const auto& p = params.parameter(i);
    const auto [off, len] = plan.piece(i);
    auto& slots = state_[name];
    for (const auto& slot : slot_names()) {
      auto it = slots.find(slot);
      if (it == slots.end()) {
        slots[slot] = torch::zeros(std::vector<int64_t>{len}, p.options().requires_grad(false));
        continue;
      }
      SPROUT_CHECK(it->second.sizes() == p.sizes(), Error, "optimizer: state ", name, ".", slot, " has shape ",
                   it->second.sizes(), ", its parameter ", p.sizes());
      it->second = it->second.reshape({-1}).narrow(0, off, len).clone();
    }
    steps_.emplace(name, 0);
  }
  plan_ = std::move(plan);
  sharded_ = true;
}

int64_t Optimizer::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& [name, slots] : state_) {
    for (const auto& [slot, t] : slots) bytes += t.numel() * t.element_size();
  }
  for (const auto& [name, t] : lr_scale_) bytes += t.numel() * t.element_size();
  return bytes;
}

void Optimizer::resize_state(const std::string& param, torch::IntArrayRef shape) {
  gather_state();
  auto it = state_.find(param);
  if (it != state_.end()) {
    for (auto& [slot, t] : it->second) t = resize_keep(t, shape, 0.0);
  }
  auto sc = lr_scale_.find(param);
  if (sc != lr_scale_.end()) sc->second = resize_keep(sc->second, shape, 1.0);
}

void Optimizer::erase_state(const std::string& param) {
  gather_state();
  state_.erase(param);
  steps_.erase(param);
  lr_scale_.erase(param);
}

// One file per algorithm (sgd.cpp, adamw.cpp).
std::unique_ptr<Optimizer> make_sgd(const OptimizerOptions& o);
std::unique_ptr<Optimizer> make_adamw(const OptimizerOptions& o);

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& o) {
  SPROUT_CHECK(std::isfinite(o.lr) && o.lr > 0, ConfigError, "optimizer: lr must be > 0, got ", o.lr);
  SPROUT_CHECK(o.momentum >= 0 && o.momentum < 1, ConfigError,
               "optimizer: momentum must be in [0, 1), got ", o.momentum);
  SPROUT_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0, ConfigError,
               "optimizer: weight_decay must be >= 0, got ", o.weight_decay);
  SPROUT_CHECK(o.clip_norm == 0 || (std::isfinite(o.clip_norm) && o.clip_norm > 0), ConfigError,
               "optimizer: clip_norm must be > 0 (or 0: off), got ", o.clip_norm);
  SPROUT_CHECK(o.shard == "none" || o.shard == "state" || o.shard == "gradients", ConfigError,
               "optimizer: unknown shard setting '", o.shard, "' (expected none, state or gradients)");
  if (o.name == "sgd") return make_sgd(o);
  if (o.name == "adamw") {
    SPROUT_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, ConfigError,
                 "optimizer: beta1/beta2 must be in [0, 1), got ", o.beta1, "/", o.beta2);
    SPROUT_CHECK(o.eps > 0, ConfigError, "optimizer: eps must be > 0, got ", o.eps);
    return make_adamw(o);
  }
  throw ConfigError(concat("optimizer: unknown optimizer '", o.name, "' (expected sgd or adamw)"));
}

}  // namespace sprout::runtime
