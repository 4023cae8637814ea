#include "launch/interop/torch_layout.h"

#include <map>

#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_counter(const std::string& name) { return ends_with(name, "num_batches_tracked"); }

bool is_patch_embedding(const growth::ArchSpec& arch, const std::string& name) {
  return arch.kind == "vit" && name == "embed.weight";
}

}  // namespace

torch::Tensor to_torch_shape(const growth::ArchSpec& arch, const std::string& name, const torch::Tensor& t) {
  if (is_counter(name)) return t.reshape({1});
  if (is_patch_embedding(arch, name)) {
    const int64_t p = arch.integer("patch");
    return t.reshape({t.size(0), arch.in_channels, p, p});  // (D, C, p, p)
  }
  return t;
}

torch::Tensor from_torch_shape(const growth::ArchSpec& arch, const std::string& name, const torch::Tensor& t) {
  if (is_counter(name)) return t.reshape({});
  if (is_patch_embedding(arch, name)) return t.reshape({t.size(0), -1});  // (D, C·p·p)
  return t;
}

NamedTensors torch_state_dict(const growth::ArchSpec& arch, const runtime::ParamSet& params) {
  NamedTensors out;
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    out.emplace_back(params.parameter_name(i), to_torch_shape(arch, params.parameter_name(i), params.parameter(i).detach()));
  }
  for (size_t i = 0; i < params.buffer_names().size(); ++i) {
    out.emplace_back(params.buffer_names()[i], to_torch_shape(arch, params.buffer_names()[i], params.buffers()[i]));
  }
  return out;
}

runtime::ParamSet sprout_params(const growth::ArchSpec& arch, const NamedTensors& state, const std::string& where) {
  const auto model = growth::build_model(arch, 0);  // the names, shapes and dtypes `arch` needs
  const auto& ref = model->params();
  const std::string desc = arch.describe();
  std::map<std::string, torch::Tensor> given;
  for (const auto& [name, t] : state) given[name] = t;

  auto take = [&](const std::string& name, const torch::Tensor& like) {
    auto it = given.find(name);
    SPROUT_CHECK(it != given.end(), ConfigError, where, ": tensor ", name, " is missing (the architecture '", desc,
                 "' needs it)");
    const torch::Tensor t = it->second;
    given.erase(it);
    SPROUT_CHECK(t.scalar_type() == like.scalar_type(), ConfigError, where, ": tensor ", name, " has dtype ",
                 safetensors_dtype(t.scalar_type()), "; it must be ", safetensors_dtype(like.scalar_type()));
    const auto want = to_torch_shape(arch, name, like);
    const bool counter_0d = is_counter(name) && t.dim() == 0;  // torch.nn's own state_dict()
    SPROUT_CHECK(counter_0d || t.sizes() == want.sizes(), ConfigError, where, ": tensor ", name, " has shape ",
                 runtime::shape_string(t.sizes()), "; the architecture '", desc, "' needs ",
                 runtime::shape_string(want.sizes()));
    if (t.is_floating_point()) {
      SPROUT_CHECK(torch::isfinite(t).all().item<bool>(), ConfigError, where, ": tensor ", name,
                   " holds NaN or infinite values");
    }
    return from_torch_shape(arch, name, t).clone();
  };

  runtime::ParamSet out;
  for (size_t i = 0; i < ref.num_parameters(); ++i) {
    out.add_parameter(ref.parameter_name(i), take(ref.parameter_name(i), ref.parameter(i)));
  }
  for (size_t i = 0; i < ref.buffer_names().size(); ++i) {
    out.add_buffer(ref.buffer_names()[i], take(ref.buffer_names()[i], ref.buffers()[i]));
  }
  SPROUT_CHECK(given.empty(), ConfigError, where, ": tensor ", given.empty() ? "" : given.begin()->first,
               " is not part of the architecture '", desc, "'", given.size() > 1 ? concat(" (nor are ", given.size() - 1, " more)") : "");
  return out;
}

}  // namespace sprout::launch
