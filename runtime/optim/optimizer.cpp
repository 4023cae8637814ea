#include "runtime/optim/optimizer.h"

#include <cmath>

#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {

void Optimizer::ensure_state(const ParamSet& params) {
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

void Optimizer::resize_state(const std::string& param, torch::IntArrayRef shape) {
  auto it = state_.find(param);
  if (it != state_.end()) {
    for (auto& [slot, t] : it->second) t = resize_keep(t, shape, 0.0);
  }
  auto sc = lr_scale_.find(param);
  if (sc != lr_scale_.end()) sc->second = resize_keep(sc->second, shape, 1.0);
}

void Optimizer::erase_state(const std::string& param) {
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
