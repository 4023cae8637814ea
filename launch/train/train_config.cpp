#include "launch/train/train_config.h"

#include <sys/stat.h>

#include <cmath>

#include "data/hdf5_images.h"
#include "growth/models/family.h"
#include "runtime/error.h"

namespace sprout::launch {

void bind_train_options(OptionBinder& b, TrainConfig& c) {
  b.add("data.name", &c.data.name, "dataset: fashion-mnist | mnist | synthetic | hdf5 (data/README.md)");
  b.add("data.dir", &c.data.dir, "directory of IDX files (default for fashion-mnist: /usr/share/datasets/fashion-mnist)");
  b.add("data.path", &c.data.path, "data.name=hdf5: the HDF5 file (train/ and test/ images and labels)");
  b.add("data.num_classes", &c.data.num_classes, "data.name=hdf5: number of classes (0: the file's num_classes attribute)");
  b.add("data.augment", &c.augment, "none | crop_flip: random crop of the image padded by 4, and horizontal flip (training batches)");
  b.add("data.classes", &c.data.classes, "keep only these classes, e.g. 0,1 (a task); empty: all");
  b.add("data.synthetic_train", &c.data.synthetic_train, "synthetic dataset: training examples");
  b.add("data.synthetic_test", &c.data.synthetic_test, "synthetic dataset: test examples");
  bind_model_options(b, c.model);
  bind_adaptive_options(b, c.adaptive);  // model.adaptive*, adaptive.* (launch/adaptive/options.cpp)
  b.add("optim.name", &c.optim.name, "sgd (with momentum) | adamw");
  b.add("optim.lr", &c.optim.lr, "base learning rate");
  b.add("optim.momentum", &c.optim.momentum, "sgd momentum");
  b.add("optim.weight_decay", &c.optim.weight_decay, "weight decay (sgd: L2 in the gradient; adamw: decoupled)");
  b.add("optim.beta1", &c.optim.beta1, "adamw beta1");
  b.add("optim.beta2", &c.optim.beta2, "adamw beta2");
  b.add("optim.clip_norm", &c.optim.clip_norm, "clip the global gradient norm (all ranks) to this; 0: off");
  b.add("optim.shard", &c.optim.shard,
        "none | state | gradients: each rank keeps optimizer state (state: ZeRO stage 1) and also reduced gradients "
        "(gradients: stage 2, reduce-scatter) only for its 1/N of the parameters");
  b.add("optim.schedule", &c.schedule.name, "learning-rate schedule: constant | cosine");
  b.add("optim.warmup", &c.schedule.warmup_steps, "linear warm-up steps");
  b.add("train.batch", &c.train.batch, "batch size per rank");
  b.add("train.steps", &c.train.steps, "optimizer steps (0: use train.epochs)");
  b.add("train.accumulate", &c.train.accumulate,
        "micro-batches of train.batch per optimizer step (gradients summed, one reduction per step)");
  b.add("train.epochs", &c.train.epochs, "epochs over the training set when train.steps is 0");
  b.add("train.seed", &c.train.seed, "seed of initialisation and data order");
  b.add("train.eval_every", &c.train.eval_every, "evaluate on the test set every N steps (0: at the end)");
  b.add("train.log_every", &c.train.log_every, "log training loss every N steps");
  bind_slim_options(b, c.slim);  // train.mode, slim.* (launch/slimmable/options.cpp)
  b.add("runtime.threads", &c.runtime.threads, "intra-op threads per rank (0: cores per node / ranks per node)");
  b.add("runtime.bucket_mb", &c.runtime.bucket_mb, "gradient bucket size cap in MiB");
  b.add("runtime.timeout", &c.runtime.timeout_s, "seconds a collective may wait before the job is ended");
  b.add("runtime.precision", &c.runtime.precision,
        "fp32 | bf16: forward (and its backward) under bfloat16 autocast; weights, gradients and optimizer state stay "
        "float32");
  bind_device_options(b, c.device);  // launch/cli/device_options.cpp
  bind_engine_options(b, c.engine);  // launch/cli/runtime_options.cpp
  b.add("log.metrics", &c.log.metrics, "write one JSON line per logged step to this file (rank 0)");
  b.add("log.progress", &c.log.progress, "auto | bar | lines | none");
  b.add("test.step_sleep_ms", &c.test_step_sleep_ms,
        "TEST ONLY: sleep this long after every step (slow steps for time-limit tests)");
  b.hide("test.step_sleep_ms");
  bind_growth_options(b, c.growth);          // launch/growth/options.cpp
  bind_checkpoint_options(b, c.checkpoint);  // launch/checkpoint/options.cpp
  bind_init_options(b, c.init);              // launch/train/init_from.cpp
}

void bind_model_options(OptionBinder& b, growth::ArchSpec& model) {
  std::string kinds;
  for (const auto& name : growth::model_family_names()) kinds += (kinds.empty() ? "" : " | ") + name;
  b.add("model.kind", &model.kind, "model family: " + kinds + " (growth/README.md)");
  for (const auto& s : growth::all_model_settings()) {
    // "" for a shared setting whose families' defaults differ: not given, the family's own
    // default applies (Note [Family settings] in growth/models/family.h). Values are checked
    // by type here, so a malformed one is named as the option it came from.
    const std::string name = "model." + s.key;
    b.add_parsed(name, s.default_text, s.help,
                 [&model, name, key = s.key, type = s.type, shared = s.default_text.empty()](
                     const std::vector<std::string>& values) {
                   const std::string& v = values.back();
                   if (shared && v.empty()) {
                     model.params.erase(key);
                     return;
                   }
                   using Type = growth::FamilySetting::Type;
                   if (type == Type::Flag) model.set_flag(key, parse_bool(name, v));
                   else if (type == Type::Integer) model.set_integer(key, parse_int(name, v));
                   else model.set_ints(key, parse_int_list(name, v));
                 });
  }
}

OptionTable train_option_table() { return table_of(bind_train_options); }

namespace {

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

template <typename T>
void require(bool ok, const std::string& option, const T& value, const std::string& what) {
  SPROUT_CHECK(ok, ConfigError, "--", option, ": ", value, " ", what);
}

}  // namespace

int64_t TrainConfig::total_steps(int64_t train_examples, int world) const {
  if (train.steps > 0) return train.steps;
  const int64_t per_epoch = std::max<int64_t>(1, train_examples / (train.batch * train.accumulate * world));
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(train.epochs * per_epoch)));
}

TrainConfig read_train_config(const Options& o) {
  TrainConfig c = load_bound(o, bind_train_options);
  require(c.data.name == "fashion-mnist" || c.data.name == "mnist" || c.data.name == "synthetic" ||
              c.data.name == "hdf5",
          "data.name", "'" + c.data.name + "'", "is not a dataset (fashion-mnist, mnist, synthetic, hdf5)");
  const bool hdf5 = c.data.name == "hdf5";
  // An HDF5 file's classes are known once it is read (data::load_data checks them then).
  for (auto k : c.data.classes) require(k >= 0 && (hdf5 || k < 10), "data.classes", k, "is not a class in [0, 10)");
  require(c.data.num_classes >= 0, "data.num_classes", c.data.num_classes, "must be >= 0 (0: the file's attribute)");
  require(hdf5 || c.data.num_classes == 0, "data.num_classes", c.data.num_classes, "needs data.name=hdf5");
  require(hdf5 || c.data.path.empty(), "data.path", "'" + c.data.path + "'", "needs data.name=hdf5");
  if (hdf5) {
    require(!c.data.path.empty(), "data.path", "''", "is required for data.name=hdf5");
    const std::string problem = data::hdf5_path_problem(c.data.path);
    require(problem.empty(), "data.path", "'" + c.data.path + "'", problem);
  }
  require(c.augment == "none" || c.augment == "crop_flip", "data.augment", "'" + c.augment + "'",
          "is not an augmentation (none, crop_flip)");
  require(c.data.synthetic_train > 0, "data.synthetic_train", c.data.synthetic_train, "must be > 0");
  require(c.data.synthetic_test > 0, "data.synthetic_test", c.data.synthetic_test, "must be > 0");
  if (c.data.name == "mnist") require(!c.data.dir.empty(), "data.dir", "''", "is required for data.name=mnist");
  if (c.data.name != "synthetic" && !hdf5) {
    const std::string dir = data::data_directory(c.data);
    require(is_dir(dir), "data.dir", "'" + dir + "'", "is not a directory");
  }

  c.model = growth::complete(c.model);  // the family's defaults and validation (growth/models/family.h)

  require(c.optim.name == "sgd" || c.optim.name == "adamw", "optim.name", "'" + c.optim.name + "'",
          "is not an optimizer (sgd, adamw)");
  require(c.optim.lr > 0, "optim.lr", c.optim.lr, "must be > 0");
  require(c.optim.momentum >= 0 && c.optim.momentum < 1, "optim.momentum", c.optim.momentum, "must be in [0, 1)");
  require(c.optim.weight_decay >= 0, "optim.weight_decay", c.optim.weight_decay, "must be >= 0");
  require(c.optim.beta1 >= 0 && c.optim.beta1 < 1, "optim.beta1", c.optim.beta1, "must be in [0, 1)");
  require(c.optim.beta2 >= 0 && c.optim.beta2 < 1, "optim.beta2", c.optim.beta2, "must be in [0, 1)");
  require(c.schedule.name == "constant" || c.schedule.name == "cosine", "optim.schedule",
          "'" + c.schedule.name + "'", "is not a schedule (constant, cosine)");
  require(c.optim.clip_norm == 0 || (std::isfinite(c.optim.clip_norm) && c.optim.clip_norm > 0), "optim.clip_norm",
          c.optim.clip_norm, "must be > 0 (or 0: off)");
  require(c.optim.shard == "none" || c.optim.shard == "state" || c.optim.shard == "gradients", "optim.shard",
          "'" + c.optim.shard + "'", "is not a shard setting (none, state, gradients)");
  c.schedule.base_lr = c.optim.lr;
  require(c.schedule.warmup_steps >= 0, "optim.warmup", c.schedule.warmup_steps, "must be >= 0");

  require(c.train.batch > 0, "train.batch", c.train.batch, "must be > 0");
  require(c.train.steps >= 0, "train.steps", c.train.steps, "must be >= 0");
  require(c.train.accumulate >= 1 && c.train.accumulate <= 4096, "train.accumulate", c.train.accumulate,
          "must be in [1, 4096]");
  require(c.train.epochs > 0 || c.train.steps > 0, "train.epochs", c.train.epochs, "must be > 0 when train.steps is 0");
  c.data.synthetic_seed = 7 + c.train.seed;
  require(c.train.eval_every >= 0, "train.eval_every", c.train.eval_every, "must be >= 0");
  require(c.train.log_every > 0, "train.log_every", c.train.log_every, "must be > 0");

  require(c.runtime.threads >= 0 && c.runtime.threads <= 1024, "runtime.threads", c.runtime.threads,
          "must be in [0, 1024]");
  require(c.runtime.bucket_mb > 0 && c.runtime.bucket_mb <= 4096, "runtime.bucket_mb", c.runtime.bucket_mb,
          "must be in (0, 4096]");
  require(c.engine.ranks_per_node >= 0 && c.engine.ranks_per_node <= 65536, "runtime.ranks_per_node",
          c.engine.ranks_per_node, "must be in [0, 65536]");
  load_engine_calibration(c.engine);  // runtime.calibration: a missing or malformed file is refused here
  require(c.runtime.timeout_s > 0, "runtime.timeout", c.runtime.timeout_s, "must be > 0");
  require(c.runtime.precision == "fp32" || c.runtime.precision == "bf16", "runtime.precision",
          "'" + c.runtime.precision + "'", "is not a precision (fp32, bf16)");
  validate_device_options(c.device);  // launch/cli/device_options.cpp

  require(c.log.progress == "auto" || c.log.progress == "bar" || c.log.progress == "lines" || c.log.progress == "none",
          "log.progress", "'" + c.log.progress + "'", "is not one of auto, bar, lines, none");

  require(c.test_step_sleep_ms >= 0 && c.test_step_sleep_ms <= 60000, "test.step_sleep_ms", c.test_step_sleep_ms,
          "must be in [0, 60000]");
  validate(c.growth);      // launch/growth/options.cpp
  validate(c.checkpoint);  // launch/checkpoint/options.cpp
  validate(c.init);        // launch/train/init_from.cpp
  validate(c.slim);        // launch/slimmable/options.cpp
  if (c.slim.enabled) {  // slimmable steps are their own (launch/slimmable/step.cpp)
    require(c.train.accumulate == 1, "train.accumulate", c.train.accumulate, "must be 1 with train.mode=slimmable");
    require(c.optim.clip_norm == 0, "optim.clip_norm", c.optim.clip_norm, "must be 0 with train.mode=slimmable");
    require(c.runtime.precision == "fp32", "runtime.precision", "'" + c.runtime.precision + "'",
            "is not available with train.mode=slimmable (fp32 only)");
    require(c.optim.shard != "gradients", "optim.shard", "'gradients'",
            "is not available with train.mode=slimmable (its steps update whole gradients; use state)");
  }
  validate(c.adaptive, c.slim.enabled, c.growth.enabled());  // launch/adaptive/options.cpp
  // Automatic growth runs the same surgery as a written schedule, which neither combines with.
  require(!c.growth.automatic.enabled || (!c.slim.enabled && !c.adaptive.enabled), "growth.auto", "true",
          "cannot be combined with train.mode=slimmable or model.adaptive");
  c.text = o.canonical_text();
  return c;
}

}  // namespace sprout::launch
