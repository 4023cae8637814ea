// Optimizers over a ParamSet, with state addressed by parameter name so that surgery can
// resize it and checkpoints can store it (/optimizer/<module>/<param>/<slot>).
//
// Semantics follow torch.optim (SGD with momentum and coupled weight decay; AdamW with
// decoupled weight decay and per-parameter step counters), so PyTorch is the test oracle.
// Per-element learning-rate multipliers (lr_scale) implement parameter groups whose
// members are slices of one tensor — the per-stage groups of variance-transfer growth.
//
// Note [Sharded state]: after shard_state() (ZeRO stage 1) each rank keeps state only for
// its piece of every parameter (runtime/optim/sharding.h), as 1-D tensors, updates only those
// elements and then gathers the parameters from their owners, so every replica ends each
// step with the parameters an unsharded optimizer would have computed, bitwise (the
// update is elementwise; lr scales and step counters stay whole on every rank). Whoever
// needs state by parameter sees whole tensors: resize_state(), erase_state() and slots()
// first gather the pieces into whole tensors (collectively — surgery and restore call them
// on every rank in the same order), full_state() presents them without keeping them, and
// the next step() cuts whole tensors into pieces again under the then-current shapes. So
// surgery resizes exactly what it would resize unsharded, and a checkpoint holds the same
// global layout whatever the world size and the setting it was written with.
#pragma once

#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/optim/sharding.h"
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
  double clip_norm = 0;       // > 0: clip the global gradient norm to this (runtime/optim/grad_clip.h)
  std::string shard = "none";  // none | state | gradients (Note [Sharded state]); applied by the caller
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
  // The same with only this rank's piece of every gradient (1-D, plan().piece(i) long), as
  // a reduce-scatter leaves them. Sharded only; collective (gathers the parameters).
  void step_on_pieces(ParamSet& params, const std::vector<torch::Tensor>& pieces, double lr);

  // Creates zero state for every parameter that has none (checkpoint restore fills it).
  // Sharded: cuts whole state into this rank's pieces (collective when the shapes changed
  // while the state was in pieces).
  void ensure_state(const ParamSet& params);
  // Sharded: collective on the first call after a step (Note [Sharded state]).
  Slots& slots(const std::string& param);
  // As stored: whole tensors, or this rank's 1-D pieces while state_is_sharded().
  const std::map<std::string, Slots>& state() const { return state_; }
  // Whole tensors on every rank whether sharded or not. Collective when sharded.
  std::map<std::string, Slots> full_state();

  // How the parameters are cut among the ranks (called whenever state is cut).
  using Planner = std::function<ShardPlan(const ParamSet&)>;
  // Keep state only for this rank's pieces from the next ensure_state()/step() on: the
  // contiguous slice of the flat space (ShardPlan::of), or the cut `planner` returns (the
  // engine's, when it reduce-scatters the gradients). `comm` must outlive the optimizer.
  void shard_state(Communicator& comm, Planner planner = {});
  bool shards_state() const { return shard_comm_ != nullptr; }
  // Whether state() holds pieces now (and plan() describes them).
  bool state_is_sharded() const { return sharded_; }
  const ShardPlan& plan() const { return plan_; }
  // Bytes of state tensors this rank holds (lr scales included).
  int64_t state_bytes() const;
  // Update counter of one parameter (AdamW bias correction; kept across surgery).
  int64_t& step_count(const std::string& param) { return steps_[param]; }
  const std::map<std::string, int64_t>& step_counts() const { return steps_; }

  // Per-element learning-rate multipliers of a parameter (absent: 1 everywhere).
  void set_lr_scale(const std::string& param, torch::Tensor scale);
  const torch::Tensor* lr_scale(const std::string& param) const;
  const std::map<std::string, torch::Tensor>& lr_scales() const { return lr_scale_; }

  // Surgery: gives every state tensor of `param` the shape `shape`, keeping the shared
  // region bit-exact; new entries are 0 (lr_scale: 1). Step counters are kept.
  // Sharded: collective (gathers the state first).
  void resize_state(const std::string& param, torch::IntArrayRef shape);
  // Forgets a parameter that no longer exists. Sharded: collective (gathers first).
  void erase_state(const std::string& param);

  const OptimizerOptions& options() const { return options_; }

 protected:
  // Updates one parameter in place; `scale` is undefined or its lr multipliers.
  virtual void update(torch::Tensor& p, const torch::Tensor& grad, Slots& slots, int64_t step,
                      double lr, const torch::Tensor& scale) = 0;

  OptimizerOptions options_;

 private:
  void gather_state();  // collective: pieces back to whole tensors
  // Updates this rank's pieces; grads[i] is whole, or (`pieces`) already the piece.
  void update_pieces(ParamSet& params, const std::vector<torch::Tensor>& grads, bool pieces, double lr);
  void cut_state(const ParamSet& params);

  std::map<std::string, Slots> state_;
  Communicator* shard_comm_ = nullptr;
  Planner planner_;
  bool sharded_ = false;
  ShardPlan plan_;
  std::map<std::string, int64_t> steps_;
  std::map<std::string, torch::Tensor> lr_scale_;
};

// Validates options and builds the named optimizer; throws ConfigError naming bad values.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options);

}  // namespace sprout::runtime
