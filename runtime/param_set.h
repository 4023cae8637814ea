// ParamSet: a model's named tensors — trainable parameters and buffers — in one place,
// so that surgery, the data-parallel engine, the optimizer and checkpoints all address
// tensors by the same stable names ("fc1.weight", "bn1.running_mean").
//
// Note [Parameter replacement]: surgery never resizes a tensor in place; it installs a new
// leaf tensor under the same name (set_parameter) and bumps version(). Anything that
// cached tensors or their order (gradient buckets, autograd hooks) compares version()
// and rebuilds.
//
// Note [Bound tensors]
// A torch::nn::Module keeps its own parameter tensors and its forward() reads them, so a
// ParamSet that held detached copies would train tensors the module never uses, and the
// engine's gradient hooks would sit on tensors no backward reaches. bind_parameter() and
// bind_buffer() register the module's tensor objects themselves. Replacing a bound tensor
// (a checkpoint restore, a device move) changes its data in place (Tensor::set_data, as
// Module::to() does): the module, the autograd hooks and the ParamSet keep seeing one
// tensor, of any new shape or device.
#pragma once

#include <torch/types.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sprout::runtime {

class ParamSet {
 public:
  // Registers a trainable tensor (made a leaf that requires grad). Order of registration
  // is the forward order; backward produces gradients roughly in reverse.
  void add_parameter(const std::string& name, torch::Tensor value);
  // Registers a non-trainable tensor (e.g. batch-norm running statistics).
  void add_buffer(const std::string& name, torch::Tensor value);
  // Registers `tensor` itself, not a copy (Note [Bound tensors]). A parameter must be a
  // leaf that requires grad (nn::Module::register_parameter makes it one).
  void bind_parameter(const std::string& name, torch::Tensor tensor);
  void bind_buffer(const std::string& name, torch::Tensor tensor);
  // Whether `name` (a parameter or buffer) was registered by bind_*.
  bool is_bound(const std::string& name) const { return bound_.count(name) > 0; }

  bool has_parameter(const std::string& name) const { return param_index_.count(name) > 0; }
  bool has_buffer(const std::string& name) const { return buffer_index_.count(name) > 0; }

  const torch::Tensor& parameter(const std::string& name) const;
  const torch::Tensor& parameter(size_t i) const { return params_.at(i); }
  const std::string& parameter_name(size_t i) const { return param_names_.at(i); }
  size_t parameter_index(const std::string& name) const;
  size_t num_parameters() const { return params_.size(); }
  const std::vector<torch::Tensor>& parameters() const { return params_; }
  const std::vector<std::string>& parameter_names() const { return param_names_; }

  const torch::Tensor& buffer(const std::string& name) const;
  const std::vector<torch::Tensor>& buffers() const { return buffers_; }
  const std::vector<std::string>& buffer_names() const { return buffer_names_; }

  // Replace a tensor's value (any shape). See Note [Parameter replacement]; a bound
  // tensor keeps its identity and takes the new value's data (Note [Bound tensors]).
  void set_parameter(const std::string& name, torch::Tensor value);
  void set_buffer(const std::string& name, torch::Tensor value);

  // Incremented whenever the set of parameter tensors changes.
  int64_t version() const { return version_; }
  void bump_version() { ++version_; }

  int64_t parameter_numel() const;
  // Drops every parameter's accumulated gradient (set to undefined).
  void zero_grad();

 private:
  std::vector<std::string> param_names_, buffer_names_;
  std::vector<torch::Tensor> params_, buffers_;
  std::unordered_map<std::string, size_t> param_index_, buffer_index_;
  std::unordered_set<std::string> bound_;  // names registered by bind_*
  int64_t version_ = 0;
};

}  // namespace sprout::runtime
