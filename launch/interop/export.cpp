#include "launch/interop/export.h"

#include "launch/checkpoint/run_state.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "growth/models/model.h"
#include "launch/cli/options.h"
#include "launch/cli/rank_agreement.h"
#include "launch/interop/torch_layout.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {

namespace {

void write_pt(const std::string& path, const ExportedModel& model) {
  c10::Dict<std::string, at::Tensor> state;
  for (const auto& [name, t] : model.state) state.insert(name, t.contiguous().clone());
  c10::Dict<std::string, std::string> metadata;
  for (const auto& [key, value] : model.metadata) metadata.insert(key, value);
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());  // {str: Any}
  top.insert("state_dict", state);
  top.insert("metadata", metadata);
  const std::vector<char> bytes = torch::jit::pickle_save(top);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    SPROUT_CHECK(out, CheckpointError, "export '", path, "': cannot open ", tmp, " for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    SPROUT_CHECK(out, CheckpointError, "export '", path, "': writing ", tmp, " failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw CheckpointError(concat("export '", path, "': cannot rename ", tmp, ": ", std::strerror(errno)));
  }
}

}  // namespace

std::string format_doubles(const std::vector<double>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + format_number(values[i]);
  return out;
}

// The option parsers' number rules, with a message naming a file's field rather than an option.
std::vector<double> parse_doubles(const std::string& text, const std::string& where) {
  const auto items = to_list(text);
  std::vector<double> out;
  for (const auto& item : items.value_or(std::vector<std::string>{})) {
    const auto v = to_number(item);
    SPROUT_CHECK(v.has_value(), ConfigError, where, ": '", text, "' is not a comma-separated list of numbers");
    out.push_back(*v);
  }
  SPROUT_CHECK(items.has_value() && !out.empty(), ConfigError, where, ": '", text,
               "' is not a comma-separated list of numbers");
  return out;
}

std::unique_ptr<growth::Model> stored_model(const runtime::CheckpointContent& content, const std::string& source) {
  const std::string where = concat("checkpoint '", source, "'");
  const auto arch = stored_architecture(content, where);
  auto model = growth::build_model(arch, 0);  // the names and shapes to export
  install_model_tensors(model->params(), content, where, arch.describe());
  return model;
}

void require_plain_forward(const runtime::CheckpointContent& content, const std::string& source) {
  const auto config = content.root.find("config");
  if (config == content.root.end()) return;
  const auto* text = std::get_if<std::string>(&config->second);
  if (!text) return;
  const auto options = lines_by_key(*text);
  auto is = [&](const std::string& key, const std::string& value) {
    const auto it = options.find(key);
    return it != options.end() && it->second == value;
  };
  SPROUT_CHECK(!is("model.adaptive", "true"), ConfigError, "export: checkpoint '", source,
               "' is an adaptive-width run (model.adaptive = true): its forward scales every unit by a learned "
               "importance, which the plain PyTorch module does not");
  SPROUT_CHECK(!(is("train.mode", "slimmable") && is("slim.attention", "true")), ConfigError, "export: checkpoint '",
               source, "' is a slimmable run with slim.attention = true: the gate's attention rescales a site in "
               "every forward, which the plain PyTorch module does not (train with --slim.attention false to export)");
}

ExportedModel exported_model(const growth::Model& model, const runtime::CheckpointContent& content,
                             const std::string& source, const InputNormalisation& input) {
  ExportedModel out;
  out.arch = model.arch();
  out.state = torch_state_dict(out.arch, model.params());
  const auto step = content.root.find("step");
  out.metadata = {{"format", "sprout-export"},
                  {"format_version", "1"},
                  {"architecture", out.arch.serialize()},
                  {"description", out.arch.describe()},
                  {"input_mean", format_doubles(input.mean)},
                  {"input_std", format_doubles(input.stddev)},
                  {"step", step == content.root.end() ? "" : runtime::attr_text(step->second)},
                  {"source", source},
                  {"sprout_version", runtime::kSproutVersion}};
  return out;
}

torch::Tensor normalised_input(const torch::Tensor& images, const InputNormalisation& input) {
  auto x = images.to(torch::kFloat32).div_(255.0);  // (N, C, H, W)
  if (input.mean.size() == 1) return x.sub_(input.mean[0]).div_(input.stddev[0]);  // as data::to_input
  const auto shape = std::vector<int64_t>{1, static_cast<int64_t>(input.mean.size()), 1, 1};
  const auto mean = torch::tensor(input.mean, torch::kFloat64).to(torch::kFloat32).view(shape);
  const auto stddev = torch::tensor(input.stddev, torch::kFloat64).to(torch::kFloat32).view(shape);
  return x.sub_(mean).div_(stddev);
}

NamedTensors check_examples(growth::Model& model, const torch::Tensor& images, const torch::Tensor& labels,
                            const InputNormalisation& input, int64_t n) {
  n = std::min(n, images.size(0));
  const auto x = images.narrow(0, 0, n).contiguous();
  torch::NoGradGuard no_grad;
  const auto logits = model.forward(normalised_input(x, input), false);  // (n, classes)
  return {{"images", x}, {"labels", labels.narrow(0, 0, n).to(torch::kInt64).contiguous()},
          {"logits", logits.contiguous()}};
}

ExportFormat parse_export_format(const std::string& text) {
  if (text == "safetensors") return ExportFormat::Safetensors;
  if (text == "pt") return ExportFormat::Pt;
  throw ConfigError(concat("--format: '", text, "' is not safetensors or pt"));
}

void write_export(const std::string& path, const ExportedModel& model, ExportFormat format) {
  if (format == ExportFormat::Safetensors) write_safetensors(path, model.state, model.metadata);
  else write_pt(path, model);
}

}  // namespace sprout::launch
