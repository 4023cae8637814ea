#include "runtime/param_set.h"

#include "runtime/error.h"

namespace sprout::runtime {

namespace {
torch::Tensor as_leaf(torch::Tensor value) {
  return value.detach().contiguous().set_requires_grad(true);
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
  params_[parameter_index(name)] = as_leaf(std::move(value));
  ++version_;
}

void ParamSet::set_buffer(const std::string& name, torch::Tensor value) {
  auto it = buffer_index_.find(name);
  SPROUT_CHECK(it != buffer_index_.end(), Error, "no buffer named '", name, "'");
  buffers_[it->second] = value.detach().contiguous();
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
