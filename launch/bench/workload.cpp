#include "launch/bench/workload.h"

#include <algorithm>
#include <chrono>

#include "growth/models/family.h"
#include "launch/cli/option_binder.h"
#include "runtime/comm/allreduce_cost.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

std::string family_names() {
  std::string out;
  for (const auto& name : growth::model_family_names()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

OptionTable workload_option_table() {
  OptionTable table = {
      {"model", "mlp",
       "model family (a shortcut for --model.kind): mlp (784-H-H-10) | cnn (conv 32, conv 64, H, 10) | resnet | vit "
       "| any registered family (its defaults; every model.* option of sprout train applies)"},
      {"hidden", "1024", "hidden width H"},
      {"batch", "256", "batch size per rank"},
      {"steps", "200", "timed steps"},
      {"warmup", "20", "untimed steps first"},
      {"threads", "1", "intra-op threads per rank (0: cores per node / ranks per node)"},
      {"overlap", "true", "reduce gradient buckets during backward"},
      {"bucket_mb", "25", "gradient bucket cap in MiB"},
      {"allreduce", "auto", "the buckets' allreduce: auto | ring | hierarchical | scattered | mpi (runtime.allreduce)"},
      {"data", "fashion-mnist", "fashion-mnist | synthetic"},
      {"optim", "sgd", "sgd (lr 0.05, momentum 0.9) | adamw (lr 0.001)"},
      {"shard", "none", "none | state | gradients (each rank keeps its 1/N of the optimizer state / also of the gradients)"},
  };
  for (const auto& spec : table_of(bind_model_options)) table.push_back(spec);  // sprout train's model.*
  return table;
}

void check_workload(const Options& o) {
  const std::string model = o.get("model");
  const auto known = growth::model_family_names();
  SPROUT_CHECK(std::find(known.begin(), known.end(), model) != known.end(), ConfigError, "--model: '", model,
               "' is not a model family (", family_names(), ")");
  if (o.has("model.kind")) growth::model_family(o.get("model.kind"));  // ConfigError listing the families
  SPROUT_CHECK(!o.has("model") || !o.has("model.kind") || o.get("model") == o.get("model.kind"), ConfigError,
               "--model '", model, "' and --model.kind '", o.get("model.kind"), "' name different families");
  const std::string data = o.get("data");
  SPROUT_CHECK(data == "fashion-mnist" || data == "synthetic", ConfigError, "--data: '", data,
               "' is not fashion-mnist or synthetic");
  const int64_t hidden = o.get_int("hidden"), batch = o.get_int("batch");
  SPROUT_CHECK(hidden > 0 && hidden <= (1 << 16), ConfigError, "--hidden: ", hidden, " must be in [1, 65536]");
  SPROUT_CHECK(batch > 0 && batch <= 4096, ConfigError, "--batch: ", batch, " must be in [1, 4096]");
  SPROUT_CHECK(o.get_int("steps") > 0, ConfigError, "--steps: ", o.get_int("steps"), " must be > 0");
  SPROUT_CHECK(o.get_int("warmup") >= 0, ConfigError, "--warmup: ", o.get_int("warmup"), " must be >= 0");
  const int64_t threads = o.get_int("threads");
  SPROUT_CHECK(threads >= 0 && threads <= 1024, ConfigError, "--threads: ", threads, " must be in [0, 1024]");
  const double mb = o.get_double("bucket_mb");
  SPROUT_CHECK(mb > 0 && mb <= 4096, ConfigError, "--bucket_mb: ", mb, " must be in (0, 4096]");
  o.get_bool("overlap");
  runtime::parse_allreduce_algorithm(o.get("allreduce"), "--allreduce");  // throws ConfigError naming the value
  const std::string optim = o.get("optim"), shard = o.get("shard");
  SPROUT_CHECK(optim == "sgd" || optim == "adamw", ConfigError, "--optim: '", optim, "' is not sgd or adamw");
  SPROUT_CHECK(shard == "none" || shard == "state" || shard == "gradients", ConfigError, "--shard: '", shard,
               "' is not none, state or gradients");
}

TrainConfig workload_config(const Options& o) {
  auto c = read_train_config(Options::defaults(train_option_table()));
  c.data.name = o.get("data");
  c.data.synthetic_train = 8192;
  // The family's parameters as `sprout train` reads them (model.*), then the workload's own
  // widths where they were not given: H, H for the MLP; conv 32, 64 and H for the CNN.
  growth::ArchSpec given;
  OptionBinder binder;
  bind_model_options(binder, given);
  binder.load(o);
  given.kind = o.has("model.kind") ? o.get("model.kind") : o.get("model");
  const int64_t hidden = o.get_int("hidden");
  if (given.kind == "mlp" && !o.has("model.widths")) given.set_ints("widths", {hidden, hidden});
  if (given.kind == "cnn") {
    if (!o.has("model.conv")) given.set_ints("conv", {32, 64});
    if (!o.has("model.widths")) given.set_ints("widths", {hidden});
  }
  given.in_channels = c.model.in_channels;
  given.in_height = c.model.in_height;
  given.in_width = c.model.in_width;
  given.classes = c.model.classes;
  c.model = growth::complete(given);
  c.optim.name = o.get("optim");
  c.optim.lr = c.schedule.base_lr = c.optim.name == "sgd" ? 0.05 : 0.001;
  c.optim.momentum = 0.9;
  c.optim.shard = o.get("shard");
  c.schedule.name = "constant";
  c.train.batch = o.get_int("batch");
  c.train.steps = o.get_int("warmup") + o.get_int("steps");
  c.train.seed = 1;
  c.log.progress = "none";
  c.runtime.threads = static_cast<int>(o.get_int("threads"));
  c.runtime.bucket_mb = o.get_double("bucket_mb");
  c.engine.overlap = o.get_bool("overlap");
  c.engine.allreduce = runtime::parse_allreduce_algorithm(o.get("allreduce"), "--allreduce");
  return c;
}

std::vector<double> timed_steps(Trainer& trainer, int64_t count) {
  auto t = torch::empty({count}, torch::kFloat64);
  auto* out = t.data_ptr<double>();
  for (int64_t i = 0; i < count; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    trainer.train_step();
    out[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  trainer.context().comm->allreduce(t, runtime::ReduceOp::Max);
  return std::vector<double>(out, out + count);
}

}  // namespace sprout::launch
