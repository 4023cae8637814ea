#include "merge/tensor_bundle.h"

#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::merge {

const char* to_string(TensorRole role) {
  switch (role) {
    case TensorRole::Parameter: return "parameter";
    case TensorRole::Statistic: return "statistic";
    case TensorRole::Counter: return "counter";
  }
  return "?";
}

TensorRole buffer_role(const torch::Tensor& buffer) {
  return buffer.is_floating_point() ? TensorRole::Statistic : TensorRole::Counter;
}

TensorBundle bundle_from(const runtime::ParamSet& params) {
  torch::NoGradGuard no_grad;
  TensorBundle out;
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    out.push_back({params.parameter_name(i), TensorRole::Parameter, params.parameter(i).detach().clone()});
  }
  for (size_t i = 0; i < params.buffers().size(); ++i) {
    const auto& b = params.buffers()[i];
    out.push_back({params.buffer_names()[i], buffer_role(b), b.detach().clone()});
  }
  return out;
}

runtime::ParamSet to_param_set(const TensorBundle& bundle) {
  runtime::ParamSet out;
  for (const auto& t : bundle) {
    if (t.role == TensorRole::Parameter) out.add_parameter(t.name, t.value.clone());
    else out.add_buffer(t.name, t.value.clone());
  }
  return out;
}

void copy_into(runtime::ParamSet& params, const TensorBundle& bundle) {
  torch::NoGradGuard no_grad;
  for (const auto& t : bundle) {
    const bool param = t.role == TensorRole::Parameter;
    SPROUT_CHECK(param ? params.has_parameter(t.name) : params.has_buffer(t.name), ConfigError, "the model has no ",
                 to_string(t.role), " ", t.name);
    const torch::Tensor& dst = param ? params.parameter(t.name) : params.buffer(t.name);
    SPROUT_CHECK(dst.sizes() == t.value.sizes() && dst.scalar_type() == t.value.scalar_type(), ConfigError,
                 "tensor ", t.name, " has shape ", runtime::shape_string(t.value.sizes()), " (",
                 t.value.scalar_type(), "), the model's is ", runtime::shape_string(dst.sizes()), " (",
                 dst.scalar_type(), ")");
    // The ParamSet's tensors are shared handles: copy_ writes through to the model.
    torch::Tensor target = dst;
    target.copy_(t.value);
  }
}

void require_same_layout(const TensorBundle& base, const TensorBundle& other, const std::string& what) {
  for (size_t i = 0; i < std::max(base.size(), other.size()); ++i) {
    SPROUT_CHECK(i < other.size(), ConfigError, what, ": tensor ", base[i].name, " is missing");
    SPROUT_CHECK(i < base.size(), ConfigError, what, ": tensor ", other[i].name, " is not in the base");
    const auto& a = base[i];
    const auto& b = other[i];
    SPROUT_CHECK(a.name == b.name, ConfigError, what, ": tensor ", i, " is ", b.name, ", the base has ", a.name,
                 " (different architectures)");
    SPROUT_CHECK(a.role == b.role, ConfigError, what, ": tensor ", b.name, " is a ", to_string(b.role),
                 ", in the base a ", to_string(a.role));
    SPROUT_CHECK(a.value.scalar_type() == b.value.scalar_type(), ConfigError, what, ": tensor ", b.name,
                 " has dtype ", b.value.scalar_type(), ", the base has ", a.value.scalar_type());
    SPROUT_CHECK(a.value.sizes() == b.value.sizes(), ConfigError, what, ": tensor ", b.name, " has shape ",
                 runtime::shape_string(b.value.sizes()), ", the base has ", runtime::shape_string(a.value.sizes()),
                 " (different architectures)");
  }
}

uint64_t layout_hash(const TensorBundle& bundle) {
  std::string text;
  for (const auto& t : bundle) {
    text += concat(t.name, '|', static_cast<int>(t.role), '|', t.value.scalar_type(), '|',
                   runtime::shape_string(t.value.sizes()), ';');
  }
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

torch::Tensor flatten(const TensorBundle& bundle, torch::ScalarType dtype) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : bundle) parts.push_back(t.value.reshape({-1}).to(dtype));
  if (parts.empty()) return torch::empty({0}, torch::TensorOptions().dtype(dtype));
  return torch::cat(parts);
}

void unflatten_into(const torch::Tensor& flat, TensorBundle& bundle) {
  int64_t offset = 0;
  for (auto& t : bundle) {
    const int64_t n = t.value.numel();
    SPROUT_CHECK(offset + n <= flat.numel(), Error, "unflatten: buffer of ", flat.numel(), " elements is too short");
    t.value = flat.narrow(0, offset, n).view(t.value.sizes()).to(t.value.scalar_type()).clone();
    offset += n;
  }
  SPROUT_CHECK(offset == flat.numel(), Error, "unflatten: buffer of ", flat.numel(), " elements, bundle holds ",
               offset);
}

}  // namespace sprout::merge
