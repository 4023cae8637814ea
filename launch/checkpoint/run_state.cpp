#include "launch/checkpoint/run_state.h"

#include <cmath>
#include <optional>
#include <set>
#include <sstream>

#include "growth/adaptive/adaptive.h"
#include "growth/depth.h"
#include "growth/models/family.h"
#include "growth/models/memory_estimate.h"
#include "growth/slimmable/slimmable.h"
#include "launch/cli/rank_agreement.h"
#include "launch/growth/auto_driver.h"
#include "launch/growth/driver.h"
#include "launch/train/stored_normalization.h"
#include "launch/train/trainer.h"
#include "runtime/error.h"
#include "runtime/comm/fingerprint.h"
#include "runtime/tensor_util.h"
#include "runtime/torch_compat.h"

namespace sprout::launch {

using runtime::Attributes;
using runtime::CheckpointContent;
using runtime::CheckpointTable;
using runtime::name_to_path;

namespace {

void add_tensor(CheckpointContent& c, const std::string& path, const torch::Tensor& t) {
  runtime::CheckpointTensor e;
  e.value = t.detach();
  c.tensors[path] = std::move(e);
}

std::string optimizer_group(const std::string& param) { return "/optimizer/" + name_to_path(param); }

CheckpointTable history_table(const growth::GrowthHistory& history) {
  std::vector<int64_t> step, old_width, new_width;
  std::vector<std::string> site, strategy;
  std::vector<double> seconds, grad_norm;
  for (const auto& r : history) {
    step.push_back(r.step);
    site.push_back(r.site);
    strategy.push_back(r.strategy);
    old_width.push_back(r.old_width);
    new_width.push_back(r.new_width);
    seconds.push_back(r.seconds);
    grad_norm.push_back(r.grad_norm);
  }
  CheckpointTable t;
  t.columns = {{"step", step},         {"site", site},       {"strategy", strategy}, {"old_width", old_width},
               {"new_width", new_width}, {"seconds", seconds}, {"grad_norm", grad_norm}};
  return t;
}

template <typename T>
const std::vector<T>& column(const CheckpointTable& t, const std::string& name, const std::string& where) {
  for (const auto& c : t.columns) {
    if (c.name != name) continue;
    const auto* v = std::get_if<std::vector<T>>(&c.values);
    SPROUT_CHECK(v, CheckpointError, where, ": column '", name, "' has the wrong type");
    return *v;
  }
  throw CheckpointError(concat(where, ": no column '", name, "'"));
}

growth::GrowthHistory history_rows(const CheckpointTable& t, const std::string& where) {
  const auto& step = column<int64_t>(t, "step", where);
  const auto& site = column<std::string>(t, "site", where);
  const auto& strategy = column<std::string>(t, "strategy", where);
  const auto& old_width = column<int64_t>(t, "old_width", where);
  const auto& new_width = column<int64_t>(t, "new_width", where);
  const auto& seconds = column<double>(t, "seconds", where);
  const auto& grad_norm = column<double>(t, "grad_norm", where);
  growth::GrowthHistory out;
  for (size_t i = 0; i < step.size(); ++i) {
    out.push_back({step[i], site[i], strategy[i], old_width[i], new_width[i], seconds[i], grad_norm[i]});
  }
  return out;
}

}  // namespace

CheckpointContent capture_training_state(Trainer& t, const std::string& tag) {
  CheckpointContent c;
  const auto& cfg = t.config();
  const auto sampler = t.sampler().state();
  c.root = {{"step", t.step()},      {"epoch", sampler.epoch}, {"total_steps", t.total_steps()},
            {"tag", tag},            {"config", cfg.text}};

  const auto& params = t.model().params();
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    add_tensor(c, "/model/" + name_to_path(params.parameter_name(i)), params.parameter(i));
  }
  for (size_t i = 0; i < params.buffers().size(); ++i) {
    add_tensor(c, "/buffers/" + name_to_path(params.buffer_names()[i]), params.buffers()[i]);
  }

  auto& opt = t.optimizer();
  const auto& o = opt.options();
  c.groups["/optimizer"] = {{"name", opt.name()}, {"lr", o.lr},       {"momentum", o.momentum},
                            {"weight_decay", o.weight_decay}, {"beta1", o.beta1}, {"beta2", o.beta2},
                            {"eps", o.eps}};
  for (const auto& [param, slots] : opt.full_state()) {  // sharded state: gathered (collective)
    const auto steps = opt.step_counts().find(param);
    c.groups[optimizer_group(param)] = {{"step", steps == opt.step_counts().end() ? int64_t{0} : steps->second}};
    for (const auto& [slot, value] : slots) add_tensor(c, optimizer_group(param) + "/" + slot, value);
  }
  for (const auto& [param, scale] : opt.lr_scales()) add_tensor(c, optimizer_group(param) + "/lr_scale", scale);

  const auto arch = t.model().arch();
  c.groups["/architecture"] = {{"spec", arch.serialize()}, {"description", arch.describe()}, {"kind", arch.kind}};
  Attributes widths;
  for (const auto& [site, w] : t.model().widths()) widths[site] = w;
  c.groups["/architecture/widths"] = widths;
  c.tables["/growth/history"] = history_table(t.growth_history());
  if (const auto* automatic = t.growth_driver().automatic()) {  // growth.auto: the plateau detector
    c.groups["/growth/auto"] = state_attributes(automatic->detector().state());
  }

  c.groups["/data"] = {{"seed", static_cast<int64_t>(sampler.seed)},
                       {"epoch", sampler.epoch},
                       {"offset", sampler.offset},
                       {"train_examples", t.data().train.size()},
                       {"batch_per_rank", cfg.train.batch}};
  c.groups["/rng"] = {{"train_seed", static_cast<int64_t>(cfg.train.seed)},
                      {"note", std::string("model init and data order are pure functions of train_seed; "
                                           "torch_cpu is LibTorch's default CPU generator")}};
  add_tensor(c, "/rng/torch_cpu", compat::default_generator_state());
  store_normalization(c, t.data().norm);  // launch/train/stored_normalization.h
  return c;
}

namespace {

// Everything restore installs, checked before anything is installed.
struct Staged {
  int64_t step = 0;
  std::vector<std::pair<std::string, torch::Tensor>> params, buffers;
  std::map<std::string, runtime::Optimizer::Slots> slots;
  std::map<std::string, int64_t> steps;
  std::map<std::string, torch::Tensor> lr_scales;
  data::SamplerState sampler;
  growth::GrowthHistory history;
  std::optional<growth::PlateauState> auto_growth;  // /growth/auto, when the checkpoint has it
  torch::Tensor rng;
};

const torch::Tensor& expect_tensor(const CheckpointContent& c, const std::string& path, const torch::Tensor& like,
                                   const std::string& where, const std::string& arch) {
  const auto* e = c.find_tensor(path);
  SPROUT_CHECK(e, CheckpointError, where, ": missing tensor ", path);
  SPROUT_CHECK(e->error.empty(), CheckpointError, e->error);
  SPROUT_CHECK(e->value.scalar_type() == like.scalar_type(), CheckpointError, where, ": tensor ", path, " has dtype ",
               e->value.scalar_type(), ", expected ", like.scalar_type());
  SPROUT_CHECK(e->value.sizes() == like.sizes(), CheckpointError, where, ": tensor ", path, " has shape ",
               runtime::shape_string(e->value.sizes()), " but the stored architecture '", arch, "' needs ",
               runtime::shape_string(like.sizes()));
  return e->value;
}

// The architecture a checkpoint stores, validated (a CheckpointError names the file).
growth::ArchSpec architecture_of(const CheckpointContent& c, const std::string& where) {
  const auto* arch_attrs = c.find_group("/architecture");
  SPROUT_CHECK(arch_attrs, CheckpointError, where, ": missing group /architecture");
  try {
    return growth::ArchSpec::parse_stored(runtime::attr_string(*arch_attrs, "spec", where + " /architecture"));  // validated
  } catch (const ConfigError& e) {
    throw CheckpointError(concat(where, ": bad /architecture: ", e.what()));
  }
}

Staged stage(Trainer& t, const CheckpointContent& c, const std::string& where) {
  Staged s;
  s.step = runtime::attr_int(c.root, "step", where);
  SPROUT_CHECK(s.step <= t.total_steps(), CheckpointError, where, ": step ", s.step, " is beyond this run's ",
               t.total_steps(), " steps");

  // Note [Restore order]: the architecture first.
  const growth::ArchSpec stored = architecture_of(c, where);
  const auto current = t.model().arch();
  const std::string mismatch = growth::continuation_mismatch(stored, current);  // growth/models/family.h
  SPROUT_CHECK(mismatch.empty(), ConfigError, where, ": its model '", stored.describe(), "' cannot continue as this run's '",
               current.describe(), "': ", mismatch);
  const auto* opt_attrs = c.find_group("/optimizer");
  SPROUT_CHECK(opt_attrs, CheckpointError, where, ": missing group /optimizer");
  const std::string opt_name = runtime::attr_string(*opt_attrs, "name", where + " /optimizer");
  SPROUT_CHECK(opt_name == t.optimizer().name(), ConfigError, where, ": it holds ", opt_name,
               " optimizer state; this run uses --optim.name ", t.optimizer().name());

  // A file this run could never take is a ConfigError (above); one that is inconsistent
  // in itself is a CheckpointError, found before the rebuild allocates its widths.
  validate_checkpoint_content(c, where);
  const auto rebuilt = growth::build_model(stored, 0);  // names and shapes of the saved run
  if (t.config().slim.enabled) growth::make_slimmable(*rebuilt, t.config().slim.spec, 0);  // growth/slimmable/slimmable.h
  if (t.config().adaptive.enabled) growth::make_adaptive(*rebuilt, t.config().adaptive.spec);  // rates at the end
  const auto& ref = rebuilt->params();
  // A depth-grown checkpoint lists more blocks than this run's model: the model takes them
  // (growth::take_added_blocks, in restore_training_state) once everything is staged.
  SPROUT_CHECK(growth::adds_blocks(t.model(), stored) ||
                   (ref.parameter_names() == t.model().params().parameter_names() &&
                    ref.buffer_names() == t.model().params().buffer_names()),
               ConfigError, where, ": its model '", stored.describe(), "' has other parameters than this run's");
  const std::string desc = stored.describe();
  for (size_t i = 0; i < ref.num_parameters(); ++i) {
    const auto& name = ref.parameter_name(i);
    const auto& like = ref.parameter(i);
    s.params.emplace_back(name, expect_tensor(c, "/model/" + name_to_path(name), like, where, desc));
    const std::string group = optimizer_group(name);
    const auto* g = c.find_group(group);
    SPROUT_CHECK(g, CheckpointError, where, ": missing optimizer state ", group);
    s.steps[name] = runtime::attr_int(*g, "step", where + " " + group);
    for (const auto& slot : t.optimizer().slot_names()) {
      s.slots[name][slot] = expect_tensor(c, group + "/" + slot, like, where, desc);
    }
    if (c.find_tensor(group + "/lr_scale")) s.lr_scales[name] = expect_tensor(c, group + "/lr_scale", like, where, desc);
  }
  for (size_t i = 0; i < ref.buffer_names().size(); ++i) {
    const auto& name = ref.buffer_names()[i];
    s.buffers.emplace_back(name, expect_tensor(c, "/buffers/" + name_to_path(name), ref.buffers()[i], where, desc));
  }

  const auto* d = c.find_group("/data");
  SPROUT_CHECK(d, CheckpointError, where, ": missing group /data");
  s.sampler.seed = static_cast<uint64_t>(runtime::attr_int(*d, "seed", where + " /data"));
  s.sampler.epoch = runtime::attr_int(*d, "epoch", where + " /data");
  s.sampler.offset = runtime::attr_int(*d, "offset", where + " /data");
  SPROUT_CHECK(s.sampler.epoch >= 0 && s.sampler.offset >= 0, CheckpointError, where, ": bad /data position (epoch ",
               s.sampler.epoch, ", offset ", s.sampler.offset, ")");
  SPROUT_CHECK(s.sampler.offset <= t.data().train.size(), ConfigError, where, ": its data position (offset ",
               s.sampler.offset, ") does not fit the ", t.data().train.size(),
               " training examples of this run (other data.* options?)");
  auto h = c.tables.find("/growth/history");
  SPROUT_CHECK(h != c.tables.end(), CheckpointError, where, ": missing table /growth/history");
  s.history = history_rows(h->second, where + " /growth/history");
  if (const auto* a = c.find_group("/growth/auto")) s.auto_growth = state_from_attributes(*a, where + " /growth/auto");
  if (const auto* rng = c.find_tensor("/rng/torch_cpu")) {
    SPROUT_CHECK(rng->error.empty(), CheckpointError, rng->error);
    s.rng = rng->value;
  }
  return s;
}

}  // namespace

growth::ArchSpec stored_architecture(const CheckpointContent& c, const std::string& where) {
  return architecture_of(c, where);
}

void install_model_tensors(runtime::ParamSet& params, const CheckpointContent& c, const std::string& where,
                           const std::string& arch) {
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    const auto name = params.parameter_name(i);
    const auto path = "/model/" + runtime::name_to_path(name);
    params.set_parameter(name, expect_tensor(c, path, params.parameter(i), where, arch).clone());
  }
  for (size_t i = 0; i < params.buffer_names().size(); ++i) {
    const auto name = params.buffer_names()[i];
    const auto path = "/buffers/" + runtime::name_to_path(name);
    params.set_buffer(name, expect_tensor(c, path, params.buffers()[i], where, arch).clone());
  }
}

TrainConfig stored_train_config(const CheckpointContent& c, const std::string& where, const std::string& data_dir,
                                const std::string& data_path) {
  const auto table = train_option_table();
  auto o = Options::defaults(table);
  std::istringstream in(runtime::attr_string(c.root, "config", where));
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const OptionSpec* spec = nullptr;
    for (const auto& s : table) {
      if (s.name == key) spec = &s;
    }
    SPROUT_CHECK(spec, ConfigError, where, ": its configuration has option '", key, "', which this sprout does not know");
    if (!spec->repeatable) o.set(key, line.substr(eq + 3));
  }
  if (!data_dir.empty()) o.set("data.dir", data_dir);
  if (!data_path.empty()) o.set("data.path", data_path);
  return read_train_config(o);
}

growth::ArchSpec validate_model_content(const CheckpointContent& c, const std::string& where) {
  for (const auto& [path, t] : c.tensors) {  // a damaged tensor anywhere: the file is not trusted
    SPROUT_CHECK(t.error.empty(), CheckpointError, where, ": tensor ", path, ": ", t.error);
  }
  const growth::ArchSpec stored = architecture_of(c, where);
  std::set<int64_t> stored_rows;  // first dimensions of the stored model tensors
  for (const auto& [path, t] : c.tensors) {
    if (path.rfind("/model/", 0) == 0 && t.value.dim() > 0) stored_rows.insert(t.value.size(0));
  }
  SPROUT_CHECK(!stored_rows.empty(), CheckpointError, where, ": no model tensors (/model)");
  for (const auto& [site, w] : growth::site_widths(stored)) {
    SPROUT_CHECK(stored_rows.count(w), CheckpointError, where, ": its architecture '", stored.describe(),
                 "' has width ", w, " at site ", site, ", which no stored /model tensor holds");
  }
  for (const auto& [path, t] : c.tensors) {
    const auto& v = t.value;
    const bool model = path.rfind("/model/", 0) == 0 || path.rfind("/buffers/", 0) == 0;
    SPROUT_CHECK(!model || !v.defined() || !v.is_floating_point() || v.numel() == 0 || torch::isfinite(v).all().item<bool>(),
                 CheckpointError, where, ": tensor ", path, " holds Inf or NaN values");
  }
  return stored;
}

void validate_checkpoint_content(const CheckpointContent& c, const std::string& where) {
  const int64_t step = runtime::attr_int(c.root, "step", where);
  SPROUT_CHECK(step >= 0, CheckpointError, where, ": step ", step, " is negative");
  validate_model_content(c, where);
  if (const auto* rng = c.find_tensor("/rng/torch_cpu")) {
    const auto like = compat::default_generator_state();
    SPROUT_CHECK(rng->value.scalar_type() == like.scalar_type() && rng->value.dim() == 1 &&
                     rng->value.numel() == like.numel(),
                 CheckpointError, where, ": tensor /rng/torch_cpu has dtype ", rng->value.scalar_type(), " and shape ",
                 runtime::shape_string(rng->value.sizes()), "; LibTorch's generator state is ", like.scalar_type(),
                 " ", runtime::shape_string(like.sizes()));
  }
  if (const auto* opt = c.find_group("/optimizer")) {
    for (const auto& [key, value] : *opt) {
      const auto* d = std::get_if<double>(&value);
      SPROUT_CHECK(!d || std::isfinite(*d), CheckpointError, where, ": optimizer hyper-parameter ", key, " is ",
                   runtime::attr_text(value));
    }
  }
  for (const auto& [path, t] : c.tensors) {
    const auto& v = t.value;
    SPROUT_CHECK(!v.defined() || !v.is_floating_point() || v.numel() == 0 || torch::isfinite(v).all().item<bool>(),
                 CheckpointError, where, ": tensor ", path, " holds Inf or NaN values");
  }
}

void restore_training_state(Trainer& t, const CheckpointContent& c, const std::string& path) {
  const std::string where = concat("checkpoint '", path, "'");
  Staged s = stage(t, c, where);
  const auto norm = stored_normalization(c, where);  // validated before anything changes
  SPROUT_CHECK(!norm || static_cast<int64_t>(norm->mean.size()) == t.data().channels, ConfigError, where,
               ": its input normalisation has ", norm ? norm->mean.size() : 0, " channels, this run's data ",
               t.data().channels);

  growth::take_added_blocks(t.model(), architecture_of(c, where));  // a depth-grown checkpoint (growth/depth.h)
  auto& params = t.model().params();
  // Checkpoints are read on the host; every tensor goes back to the device of the run.
  const auto dev = t.context().device;
  auto on_device = [&](const torch::Tensor& v) { return v.to(dev, /*non_blocking=*/false, /*copy=*/true); };
  for (auto& [name, value] : s.params) params.set_parameter(name, on_device(value));
  for (auto& [name, value] : s.buffers) params.set_buffer(name, on_device(value));
  auto& opt = t.optimizer();
  for (const auto& [name, value] : s.params) {
    opt.erase_state(name);
    for (auto& [slot, v] : s.slots[name]) opt.slots(name)[slot] = on_device(v);
    opt.step_count(name) = s.steps[name];
    auto sc = s.lr_scales.find(name);
    if (sc != s.lr_scales.end()) opt.set_lr_scale(name, on_device(sc->second));
  }
  t.sampler().set_state(s.sampler);
  t.set_step(s.step);
  t.growth_history() = s.history;
  // growth.auto: the detector continues; a checkpoint of a run without it leaves a fresh one.
  if (auto* automatic = t.growth_driver().automatic(); automatic && s.auto_growth) automatic->restore(*s.auto_growth);
  if (norm) t.set_normalization(*norm);
  if (s.rng.defined()) compat::set_default_generator_state(s.rng.clone());
  runtime::verify_identical(*t.context().comm, params, &opt, where + " restored");
}

std::string config_differences(const std::string& checkpoint_text, const std::string& current_text) {
  auto ignored = [](const std::string& key) {
    for (const char* prefix : {"checkpoint.", "log.", "runtime."}) {
      if (key.rfind(prefix, 0) == 0) return true;
    }
    return key == "resume" || key == "train.steps" || key == "train.epochs" || key == "train.eval_every" ||
           key == "train.log_every";
  };
  const auto before = lines_by_key(checkpoint_text), now = lines_by_key(current_text);
  std::set<std::string> keys;
  for (const auto& kv : before) keys.insert(kv.first);
  for (const auto& kv : now) keys.insert(kv.first);
  std::string out;
  for (const auto& key : keys) {
    if (ignored(key)) continue;
    auto a = before.find(key), b = now.find(key);
    const std::string was = a == before.end() ? "(unset)" : a->second, is = b == now.end() ? "(unset)" : b->second;
    if (was != is) out += concat(out.empty() ? "" : "; ", "--", key, " is '", is, "' here, '", was, "' in the checkpoint");
  }
  return out;
}

}  // namespace sprout::launch
