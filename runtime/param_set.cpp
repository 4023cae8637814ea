#include "runtime/param_set.h"

#include "runtime/error.h"

namespace sprout::runtime {

namespace {
torch::Tensor as_leaf(torch::Tensor value) {
  return value.detach().contiguous().set_requires_grad(true);
}

// Gives the bound tensor `target` the data of `value` (any shape, dtype or device); the
// tensor object, its requires_grad and its hooks stay (Note [Bound tensors]). A gradient of
// the old value would not fit the new one: it is dropped.
void replace_data(torch::Tensor& target, const torch::Tensor& value) {
  if (target.requires_grad()) target.mutable_grad() = torch::Tensor();
  target.set_data(value.detach().contiguous());
}
}  // namespace

void ParamSet::add_parameter(const std::string& name, torch::Tensor value) {
  SPROUT_CHECK(!param_index_.count(name) && !buffer_index_.count(name), Error,
               "parameter '", name, "' registered twice");
  param_index_[name] = params_.size();
  param_names_.push_back(name);
  params_.push_back(as_leaf(std::move(value)));
  ++version_;
}

void ParamSet::add_buffer(const std::string& name, torch::Tensor value) {
  SPROUT_CHECK(!param_index_.count(name) && !buffer_index_.count(name), Error,
               "buffer '", name, "' registered twice");
  buffer_index_[name] = buffers_.size();
  buffer_names_.push_back(name);
  buffers_.push_back(value.detach().contiguous());
}

void ParamSet::bind_parameter(const std::string& name, torch::Tensor tensor) {
  SPROUT_CHECK(tensor.defined() && tensor.is_leaf() && tensor.requires_grad(), Error, "parameter '", name,
               "': a bound parameter must be a defined leaf tensor that requires grad");
  SPROUT_CHECK(tensor.is_contiguous(), Error, "parameter '", name, "': a bound parameter must be contiguous");
  SPROUT_CHECK(!param_index_.count(name) && !buffer_index_.count(name), Error,
               "parameter '", name, "' registered twice");
  param_index_[name] = params_.size();
  param_names_.push_back(name);
  params_.push_back(std::move(tensor));
  bound_.insert(name);
  ++version_;
}

void ParamSet::bind_buffer(const std::string& name, torch::Tensor tensor) {
  SPROUT_CHECK(tensor.defined() && tensor.is_contiguous(), Error, "buffer '", name,
               "': a bound buffer must be a defined, contiguous tensor");
  SPROUT_CHECK(!param_index_.count(name) && !buffer_index_.count(name), Error,
               "buffer '", name, "' registered twice");
  buffer_index_[name] = buffers_.size();
  buffer_names_.push_back(name);
  buffers_.push_back(std::move(tensor));
  bound_.insert(name);
}

size_t ParamSet::parameter_index(const std::string& name) const {
  auto it = param_index_.find(name);
  SPROUT_CHECK(it != param_index_.end(), Error, "no parameter named '", name, "'");
  return it->second;
}

const torch::Tensor& ParamSet::parameter(const std::string& name) const {
  return params_[parameter_index(name)];
}

const torch::Tensor& ParamSet::buffer(const std::string& name) const {
  auto it = buffer_index_.find(name);
  SPROUT_CHECK(it != buffer_index_.end(), Error, "no buffer named '", name, "'");
  return buffers_[it->second];
}

void ParamSet::set_parameter(const std::string& name, torch::Tensor value) {
  auto& target = params_[parameter_index(name)];
  if (is_bound(name)) {
    replace_data(target, value);
  } else {
    target = as_leaf(std::move(value));
  }
  ++version_;
}

void ParamSet::set_buffer(const std::string& name, torch::Tensor value) {
  auto it = buffer_index_.find(name);
  SPROUT_CHECK(it != buffer_index_.end(), Error, "no buffer named '", name, "'");
  if (is_bound(name)) {
    replace_data(buffers_[it->second], value);
  } else {
    buffers_[it->second] = value.detach().contiguous();
  }
}

int64_t ParamSet::parameter_numel() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.numel();
  return n;
}

void ParamSet::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

}  // namespace sprout::runtime
