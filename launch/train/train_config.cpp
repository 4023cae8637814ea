#include "launch/train/train_config.h"

#include <sys/stat.h>

#include <cmath>

#include "runtime/error.h"

namespace sprout::launch {

OptionTable train_option_table() {
  OptionTable table = {
      {"data.name", "fashion-mnist", "dataset: fashion-mnist | mnist | synthetic"},
      {"data.dir", "", "directory of IDX files (default for fashion-mnist: /usr/share/datasets/fashion-mnist)"},
      {"data.classes", "", "keep only these classes, e.g. 0,1 (a task); empty: all"},
      {"data.synthetic_train", "4096", "synthetic dataset: training examples"},
      {"data.synthetic_test", "1024", "synthetic dataset: test examples"},
      {"model.kind", "mlp", "mlp | cnn"},
      {"model.widths", "256,256", "hidden widths of fc1..fc(N-1)"},
      {"model.conv", "32,64", "cnn: channels of conv1..convK (3x3 conv, 2x2 max-pool each)"},
      {"model.batch_norm", "false", "batch-norm after every hidden layer"},
      {"optim.name", "sgd", "sgd (with momentum) | adamw"},
      {"optim.lr", "0.05", "base learning rate"},
      {"optim.momentum", "0.9", "sgd momentum"},
      {"optim.weight_decay", "0", "weight decay (sgd: L2 in the gradient; adamw: decoupled)"},
      {"optim.beta1", "0.9", "adamw beta1"},
      {"optim.beta2", "0.999", "adamw beta2"},
      {"optim.schedule", "cosine", "learning-rate schedule: constant | cosine"},
      {"optim.warmup", "0", "linear warm-up steps"},
      {"train.batch", "64", "batch size per rank"},
      {"train.steps", "0", "optimizer steps (0: use train.epochs)"},
      {"train.epochs", "1", "epochs over the training set when train.steps is 0"},
      {"train.seed", "0", "seed of initialisation and data order"},
      {"train.eval_every", "0", "evaluate on the test set every N steps (0: at the end)"},
      {"train.log_every", "50", "log training loss every N steps"},
      {"runtime.threads", "0", "intra-op threads per rank (0: cores per node / ranks per node)"},
      {"runtime.bucket_mb", "25", "gradient bucket size cap in MiB"},
      {"runtime.timeout", "300", "seconds a collective may wait before the job is ended"},
      {"log.metrics", "", "write one JSON line per logged step to this file (rank 0)"},
      {"log.progress", "auto", "auto | bar | lines | none"},
      {"test.step_sleep_ms", "0", "TEST ONLY: sleep this long after every step (slow steps for time-limit tests)"},
  };
  for (auto& o : growth_option_table()) table.push_back(std::move(o));  // launch/growth/options.cpp
  for (auto& o : checkpoint_option_table()) table.push_back(std::move(o));  // launch/checkpoint/options.cpp
  for (auto& o : device_option_table()) table.push_back(o);
  for (auto& o : init_option_table()) table.push_back(std::move(o));  // launch/train/init_from.cpp
  for (auto& o : slimmable_option_table()) table.push_back(o);  // launch/slimmable/options.cpp
  for (auto& o : engine_option_table()) table.push_back(o);
  for (auto& o : adaptive_option_table()) table.push_back(o);  // launch/adaptive/options.cpp
  return table;
}

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
  const int64_t per_epoch = std::max<int64_t>(1, train_examples / (train.batch * world));
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(train.epochs * per_epoch)));
}

TrainConfig read_train_config(const Options& o) {
  TrainConfig c;
  c.data.name = o.get("data.name");
  require(c.data.name == "fashion-mnist" || c.data.name == "mnist" || c.data.name == "synthetic", "data.name",
          "'" + c.data.name + "'", "is not a dataset (fashion-mnist, mnist, synthetic)");
  c.data.dir = o.get("data.dir");
  c.data.classes = o.get_int_list("data.classes");
  for (auto k : c.data.classes) require(k >= 0 && k < 10, "data.classes", k, "is not a class in [0, 10)");
  c.data.synthetic_train = o.get_int("data.synthetic_train");
  c.data.synthetic_test = o.get_int("data.synthetic_test");
  require(c.data.synthetic_train > 0, "data.synthetic_train", c.data.synthetic_train, "must be > 0");
  require(c.data.synthetic_test > 0, "data.synthetic_test", c.data.synthetic_test, "must be > 0");
  if (c.data.name == "mnist") require(!c.data.dir.empty(), "data.dir", "''", "is required for data.name=mnist");
  if (c.data.name != "synthetic") {
    const std::string dir = data::data_directory(c.data);
    require(is_dir(dir), "data.dir", "'" + dir + "'", "is not a directory");
  }

  c.model.kind = o.get("model.kind");
  c.model.widths = o.get_int_list("model.widths");
  c.model.conv = c.model.kind == "cnn" ? o.get_int_list("model.conv") : std::vector<int64_t>{};
  c.model.batch_norm = o.get_bool("model.batch_norm");
  growth::validate(c.model);

  c.optim.name = o.get("optim.name");
  c.optim.lr = o.get_double("optim.lr");
  c.optim.momentum = o.get_double("optim.momentum");
  c.optim.weight_decay = o.get_double("optim.weight_decay");
  c.optim.beta1 = o.get_double("optim.beta1");
  c.optim.beta2 = o.get_double("optim.beta2");
  require(c.optim.name == "sgd" || c.optim.name == "adamw", "optim.name", "'" + c.optim.name + "'",
          "is not an optimizer (sgd, adamw)");
  require(c.optim.lr > 0, "optim.lr", c.optim.lr, "must be > 0");
  require(c.optim.momentum >= 0 && c.optim.momentum < 1, "optim.momentum", c.optim.momentum, "must be in [0, 1)");
  require(c.optim.weight_decay >= 0, "optim.weight_decay", c.optim.weight_decay, "must be >= 0");
  require(c.optim.beta1 >= 0 && c.optim.beta1 < 1, "optim.beta1", c.optim.beta1, "must be in [0, 1)");
  require(c.optim.beta2 >= 0 && c.optim.beta2 < 1, "optim.beta2", c.optim.beta2, "must be in [0, 1)");
  c.schedule.name = o.get("optim.schedule");
  require(c.schedule.name == "constant" || c.schedule.name == "cosine", "optim.schedule",
          "'" + c.schedule.name + "'", "is not a schedule (constant, cosine)");
  c.schedule.base_lr = c.optim.lr;
  c.schedule.warmup_steps = o.get_int("optim.warmup");
  require(c.schedule.warmup_steps >= 0, "optim.warmup", c.schedule.warmup_steps, "must be >= 0");

  c.train.batch = o.get_int("train.batch");
  require(c.train.batch > 0, "train.batch", c.train.batch, "must be > 0");
  c.train.steps = o.get_int("train.steps");
  require(c.train.steps >= 0, "train.steps", c.train.steps, "must be >= 0");
  c.train.epochs = o.get_double("train.epochs");
  require(c.train.epochs > 0 || c.train.steps > 0, "train.epochs", c.train.epochs, "must be > 0 when train.steps is 0");
  const int64_t seed = o.get_int("train.seed");
  require(seed >= 0, "train.seed", seed, "must be >= 0");
  c.train.seed = static_cast<uint64_t>(seed);
  c.data.synthetic_seed = 7 + c.train.seed;
  c.train.eval_every = o.get_int("train.eval_every");
  require(c.train.eval_every >= 0, "train.eval_every", c.train.eval_every, "must be >= 0");
  c.train.log_every = o.get_int("train.log_every");
  require(c.train.log_every > 0, "train.log_every", c.train.log_every, "must be > 0");

  c.runtime.threads = static_cast<int>(o.get_int("runtime.threads"));
  require(c.runtime.threads >= 0 && c.runtime.threads <= 1024, "runtime.threads", c.runtime.threads,
          "must be in [0, 1024]");
  c.runtime.bucket_mb = o.get_double("runtime.bucket_mb");
  require(c.runtime.bucket_mb > 0 && c.runtime.bucket_mb <= 4096, "runtime.bucket_mb", c.runtime.bucket_mb,
          "must be in (0, 4096]");
  c.runtime.timeout_s = o.get_double("runtime.timeout");
  require(c.runtime.timeout_s > 0, "runtime.timeout", c.runtime.timeout_s, "must be > 0");
  c.device = read_device_options(o);

  c.log.metrics = o.get("log.metrics");
  c.log.progress = o.get("log.progress");
  require(c.log.progress == "auto" || c.log.progress == "bar" || c.log.progress == "lines" || c.log.progress == "none",
          "log.progress", "'" + c.log.progress + "'", "is not one of auto, bar, lines, none");

  c.test_step_sleep_ms = o.get_int("test.step_sleep_ms");
  require(c.test_step_sleep_ms >= 0 && c.test_step_sleep_ms <= 60000, "test.step_sleep_ms", c.test_step_sleep_ms,
          "must be in [0, 60000]");
  c.growth = read_growth_config(o);  // launch/growth/options.cpp
  c.checkpoint = read_checkpoint_config(o);  // launch/checkpoint/options.cpp
  c.init = read_init_config(o);  // launch/train/init_from.cpp
  c.slim = read_slim_config(o);
  c.engine = read_engine_config(o);
  c.adaptive = read_adaptive_config(o, c.slim.enabled, c.growth.enabled());
  c.text = o.canonical_text();
  return c;
}

}  // namespace sprout::launch
