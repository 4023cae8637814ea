#include "launch/interop/import.h"

#include "growth/models/family.h"
#include "launch/interop/stored_run.h"
#include "launch/train/train_config.h"
#include "runtime/optim/optimizer.h"

namespace sprout::launch {

namespace {

void add_tensor(runtime::CheckpointContent& c, const std::string& path, const torch::Tensor& t) {
  runtime::CheckpointTensor e;
  e.value = t.detach().contiguous();
  c.tensors[path] = std::move(e);
}

// The default training configuration with `arch`'s model.* options.
TrainConfig default_config(const growth::ArchSpec& arch) {
  Options o = Options::defaults(train_option_table());
  o.set("model.kind", arch.kind);
  for (const auto& [key, value] : arch.params) o.set("model." + key, value);
  TrainConfig c;
  OptionBinder b;
  bind_train_options(b, c);
  b.load(o);  // no data validation: importing needs no data set
  c.text = o.canonical_text();
  return c;
}

}  // namespace

runtime::CheckpointContent imported_checkpoint(const growth::ArchSpec& arch, const runtime::ParamSet& params,
                                               const std::optional<InputNormalisation>& input,
                                               const std::string& source) {
  const TrainConfig config = default_config(arch);
  runtime::CheckpointContent c;
  c.root = {{"step", int64_t{0}},
            {"epoch", int64_t{0}},
            {"total_steps", int64_t{0}},
            {"tag", std::string("imported")},
            {"config", config.text}};
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    add_tensor(c, "/model/" + runtime::name_to_path(params.parameter_name(i)), params.parameter(i));
  }
  for (size_t i = 0; i < params.buffer_names().size(); ++i) {
    add_tensor(c, "/buffers/" + runtime::name_to_path(params.buffer_names()[i]), params.buffers()[i]);
  }

  const auto& o = config.optim;
  c.groups["/optimizer"] = {{"name", o.name},        {"lr", o.lr},       {"momentum", o.momentum},
                            {"weight_decay", o.weight_decay}, {"beta1", o.beta1}, {"beta2", o.beta2},
                            {"eps", o.eps}};
  const auto slots = runtime::make_optimizer(o)->slot_names();
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    const std::string group = "/optimizer/" + runtime::name_to_path(params.parameter_name(i));
    c.groups[group] = {{"step", int64_t{0}}};
    for (const auto& slot : slots) add_tensor(c, group + "/" + slot, torch::zeros_like(params.parameter(i)));
  }

  c.groups["/architecture"] = {{"spec", arch.serialize()}, {"description", arch.describe()}, {"kind", arch.kind}};
  runtime::Attributes widths;
  for (const auto& [site, w] : growth::model_family(arch.kind).site_widths(arch)) widths[site] = w;
  c.groups["/architecture/widths"] = widths;
  runtime::CheckpointTable history;
  history.columns = {{"step", std::vector<int64_t>{}},        {"site", std::vector<std::string>{}},
                     {"strategy", std::vector<std::string>{}}, {"old_width", std::vector<int64_t>{}},
                     {"new_width", std::vector<int64_t>{}},    {"seconds", std::vector<double>{}},
                     {"grad_norm", std::vector<double>{}}};
  c.tables["/growth/history"] = history;

  c.groups["/data"] = {{"seed", int64_t{0}},
                       {"epoch", int64_t{0}},
                       {"offset", int64_t{0}},
                       {"train_examples", int64_t{0}},
                       {"batch_per_rank", config.train.batch}};
  if (input) store_input_normalisation(c, *input);
  c.groups["/rng"] = {{"train_seed", int64_t{0}}};
  c.groups["/import"] = {{"source", source}, {"format", std::string("safetensors")}};
  return c;
}

}  // namespace sprout::launch
