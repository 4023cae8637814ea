// Optimizers over a ParamSet, with state addressed by parameter name so that surgery can
// resize it and checkpoints can store it (/optimizer/<module>/<param>/<slot>).
//
// Semantics follow torch.optim (SGD with momentum and coupled weight decay; AdamW with
// decoupled weight decay and per-parameter step counters), so PyTorch is the test oracle.
// Per-element learning-rate multipliers (lr_scale) implement parameter groups whose
// members are slices of one tensor — the per-stage groups of variance-transfer growth.
#pragma once

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/param_set.h"

namespace sprout::runtime {

struct OptimizerOptions {
  std::string name = "sgd";  // sgd | adamw
  double lr = 0.05;
  double momentum = 0.9;      // sgd
  double weight_decay = 0.0;  // sgd: coupled (added to the gradient); adamw: decoupled
  double beta1 = 0.9;         // adamw
  double beta2 = 0.999;       // adamw
  double eps = 1e-8;          // adamw
};

class Optimizer {
 public:
  using Slots = std::map<std::string, torch::Tensor>;

  explicit Optimizer(OptimizerOptions options) : options_(std::move(options)) {}
  virtual ~Optimizer() = default;

  virtual std::string name() const = 0;
  // Names of the per-parameter state tensors ("momentum_buffer"; "exp_avg", "exp_avg_sq").
  virtual std::vector<std::string> slot_names() const = 0;

  // One update with learning rate `lr`. grads[i] is the gradient for params.parameter(i);
  // an undefined gradient leaves that parameter (and its state) untouched.
  void step(ParamSet& params, const std::vector<torch::Tensor>& grads, double lr);

  // Creates zero state for every parameter that has none (checkpoint restore fills it).
  void ensure_state(const ParamSet& params);
  Slots& slots(const std::string& param) { return state_[param]; }
  const std::map<std::string, Slots>& state() const { return state_; }
  // Update counter of one parameter (AdamW bias correction; kept across surgery).
  int64_t& step_count(const std::string& param) { return steps_[param]; }
  const std::map<std::string, int64_t>& step_counts() const { return steps_; }

  // Per-element learning-rate multipliers of a parameter (absent: 1 everywhere).
  void set_lr_scale(const std::string& param, torch::Tensor scale);
  const torch::Tensor* lr_scale(const std::string& param) const;
  const std::map<std::string, torch::Tensor>& lr_scales() const { return lr_scale_; }

  // Surgery: gives every state tensor of `param` the shape `shape`, keeping the shared
  // region bit-exact; new entries are 0 (lr_scale: 1). Step counters are kept.
  void resize_state(const std::string& param, torch::IntArrayRef shape);
  // Forgets a parameter that no longer exists.
  void erase_state(const std::string& param);

  const OptimizerOptions& options() const { return options_; }

 protected:
  // Updates one parameter in place; `scale` is undefined or its lr multipliers.
  virtual void update(torch::Tensor& p, const torch::Tensor& grad, Slots& slots, int64_t step,
                      double lr, const torch::Tensor& scale) = 0;

  OptimizerOptions options_;

 private:
  std::map<std::string, Slots> state_;
  std::map<std::string, int64_t> steps_;
  std::map<std::string, torch::Tensor> lr_scale_;
};

// Validates options and builds the named optimizer; throws ConfigError naming bad values.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options);

}  // namespace sprout::runtime
