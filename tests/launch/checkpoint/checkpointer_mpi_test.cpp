// Checkpoints of training runs (launch/checkpoint/checkpointer.h, checkpoint_state.h) under mpiexec:
// exact resume, growth around the checkpoint, grown models, rejected files, --resume auto
// fallback, keep-last-K.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <limits>

#include "launch/checkpoint/run_state.h"
#include "launch/checkpoint/checkpointer.h"
#include "launch/train/trainer.h"
#include "mpi_test_env.h"
#include "runtime/checkpoint/async_save.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/checkpoint/store.h"
#include "../../runtime/checkpoint/checkpoint_test_util.h"
#include "runtime/checkpoint/writer.h"
#include "runtime/error.h"
#include "runtime/json.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {
namespace {

using sprout::testing::SharedDir;
using sprout::testing::world;

TrainConfig small_config(const std::string& optimizer, int64_t steps, const std::string& dir) {
  auto c = read_train_config(Options::parse(train_option_table(), {}));
  c.data.name = "synthetic";
  c.data.synthetic_train = 512;
  c.data.synthetic_test = 64;
  c.model.set_ints("widths", {12, 8});
  c.model.set_flag("batch_norm", true);  // buffers (running statistics, an int64 counter) too
  c.train.batch = 8;
  c.train.steps = steps;
  c.train.seed = 11;
  c.optim.name = optimizer;
  c.optim.weight_decay = 0.01;
  c.log.progress = "none";
  c.runtime.threads = 1;
  c.checkpoint.dir = dir;
  c.checkpoint.keep = 0;
  return c;
}

std::unique_ptr<Trainer> make_trainer(const TrainConfig& cfg) {
  auto t = std::make_unique<Trainer>(runtime::RuntimeContext{&world(), 0, 1}, cfg);
  t->prepare();
  t->engine().broadcast_state(0);
  return t;
}

// Every parameter, buffer, optimizer slot, step counter and lr_scale bit-equal, same
// sampler position, step and growth history.
void expect_same_state(Trainer& a, Trainer& b, const std::string& label) {
  const auto ca = capture_training_state(a, ""), cb = capture_training_state(b, "");
  ASSERT_EQ(ca.tensors.size(), cb.tensors.size()) << label;
  for (const auto& [path, t] : ca.tensors) {
    if (path == "/rng/torch_cpu") continue;  // process-wide: the trainers share it
    const auto* o = cb.find_tensor(path);
    ASSERT_NE(o, nullptr) << label << " " << path;
    EXPECT_TRUE(t.value.sizes() == o->value.sizes() && t.value.equal(o->value)) << label << ": " << path;
  }
  EXPECT_EQ(ca.groups, cb.groups) << label;
  EXPECT_EQ(a.step(), b.step()) << label;
  EXPECT_EQ(a.growth_history().size(), b.growth_history().size()) << label;
}

// A stand-in for a growth event (the real ones live in growth/): fc1 gains `k` units
// with fan-in drawn from (seed, step) and zero fan-out, optimizer state resized — what
// surgery does to the tensors, which is what checkpoints must carry.
void grow_fc1(Trainer& t, int64_t k) {
  auto& p = t.model().params();
  const int64_t w = p.parameter("fc1.weight").size(0);
  auto gen = at::detail::createCPUGenerator(1000 + static_cast<uint64_t>(t.step()));
  auto rows = at::randn({k, p.parameter("fc1.weight").size(1)}, gen) * 0.05;
  p.set_parameter("fc1.weight", torch::cat({p.parameter("fc1.weight").detach(), rows}, 0));
  p.set_parameter("fc1.bias", runtime::resize_keep(p.parameter("fc1.bias"), {w + k}));
  p.set_buffer("bn_fc1.running_mean", runtime::resize_keep(p.buffer("bn_fc1.running_mean"), {w + k}, 0.0));
  p.set_buffer("bn_fc1.running_var", runtime::resize_keep(p.buffer("bn_fc1.running_var"), {w + k}, 1.0));
  p.set_parameter("bn_fc1.weight", runtime::resize_keep(p.parameter("bn_fc1.weight"), {w + k}, 1.0));
  p.set_parameter("bn_fc1.bias", runtime::resize_keep(p.parameter("bn_fc1.bias"), {w + k}));
  const auto& fc2 = p.parameter("fc2.weight");
  p.set_parameter("fc2.weight", runtime::resize_keep(fc2, {fc2.size(0), w + k}));
  for (const char* name : {"fc1.weight", "fc1.bias", "bn_fc1.weight", "bn_fc1.bias", "fc2.weight"}) {
    t.optimizer().resize_state(name, p.parameter(name).sizes());
  }
  // A per-unit learning-rate group on the new units (as variance transfer uses).
  auto scale = torch::ones({w + k, p.parameter("fc1.weight").size(1)});
  scale.narrow(0, w, k).fill_(0.5);
  t.optimizer().set_lr_scale("fc1.weight", scale);
  t.growth_history().push_back({t.step(), "fc1", "test", w, w + k, 0.0, 0.0});
}

struct Plan {
  int64_t grow_at = -1;     // step before whose update fc1 grows
  int64_t save_at = -1;     // plain checkpoint after this step's update
  bool around = false;      // pre-/post-growth checkpoints
};

// Trains to the end, growing and saving as planned. A growth already in the (restored)
// history is not repeated — the rule the growth driver follows (checkpointing.h).
void train(Trainer& t, const Plan& plan) {
  while (t.step() < t.total_steps()) {
    bool grown = false;
    for (const auto& r : t.growth_history()) grown = grown || r.step == plan.grow_at;
    if (t.step() == plan.grow_at && !grown) {
      if (plan.around) save_checkpoint(t, "pre-growth");
      grow_fc1(t, 4);
      if (plan.around) save_checkpoint(t, "post-growth");
    }
    t.train_step();
    if (t.step() == plan.save_at) save_checkpoint(t);
  }
}

void resume_from(Trainer& t, const std::string& path) {
  auto content = runtime::read_checkpoint_file(world(), path);
  restore_training_state(t, content, path);
}

void exact_resume(const std::string& optimizer) {
  SharedDir dir(world());
  const auto cfg = small_config(optimizer, 16, dir.path());
  auto plain = make_trainer(cfg);  // 16 uninterrupted steps, no checkpoints
  train(*plain, {});

  auto saving = make_trainer(cfg);  // the same, saving after step 8
  train(*saving, {-1, 8});
  expect_same_state(*saving, *plain, "saving a checkpoint changes nothing");

  auto resumed = make_trainer(cfg);
  resume_from(*resumed, dir.file("step-00000008.h5"));
  EXPECT_EQ(resumed->step(), 8);
  train(*resumed, {});
  expect_same_state(*resumed, *plain, optimizer + ": 8 steps + checkpoint + 8 steps vs 16");

  // Training did something: the resumed run is not equal to a fresh model.
  auto fresh = make_trainer(cfg);
  EXPECT_FALSE(fresh->model().params().parameter("fc1.weight").equal(resumed->model().params().parameter("fc1.weight")));
}

TEST(Checkpointing, ExactResumeSgd) { exact_resume("sgd"); }
TEST(Checkpointing, ExactResumeAdamW) { exact_resume("adamw"); }

// The integrated path: Trainer::run with checkpoint.every, then --resume PATH.
// checkpoint.async: the checkpointer's own loop (save every 8 steps, commit at a later
// step boundary, drain at the end) with fc1 grown at the step right after the save, while
// the write may still be in flight. The file holds the state of step 8 exactly as a
// synchronous save does, and a run resumed from it ends bit-equal to the uninterrupted one.
TEST(Checkpointing, AsyncSaveWithGrowthInFlightResumesExactly) {
  SharedDir dir(world());
  auto cfg = small_config("adamw", 16, dir.file("async"));
  cfg.checkpoint.every = 8;
  cfg.checkpoint.async = true;
  auto plain = make_trainer(cfg);
  train(*plain, {9, -1});

  auto saving = make_trainer(cfg);
  while (saving->step() < saving->total_steps()) {
    if (saving->step() == 9) grow_fc1(*saving, 4);
    saving->train_step();
    checkpoint_after_step(*saving, false);
  }
  finish_checkpoint_writes(*saving, "the test's end");
  EXPECT_FALSE(saving->async_checkpoints().in_flight());
  expect_same_state(*saving, *plain, "async saves change nothing");
  EXPECT_EQ(runtime::read_latest(dir.file("async")), "step-00000016.h5");

  auto sync_cfg = small_config("adamw", 16, dir.file("sync"));
  auto sync = make_trainer(sync_cfg);
  train(*sync, {9, 8});
  const auto a = runtime::read_checkpoint_file(world(), dir.file("async/step-00000008.h5"));
  const auto b = runtime::read_checkpoint_file(world(), dir.file("sync/step-00000008.h5"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [path, t] : b.tensors) {
    if (path == "/rng/torch_cpu") continue;  // process-wide: the trainers share it
    const auto* o = a.find_tensor(path);
    ASSERT_NE(o, nullptr) << path;
    EXPECT_TRUE(o->value.equal(t.value)) << "async and sync differ: " << path;
  }

  auto resumed = make_trainer(cfg);
  resume_from(*resumed, dir.file("async/step-00000008.h5"));
  EXPECT_EQ(resumed->step(), 8);
  train(*resumed, {9, -1});
  expect_same_state(*resumed, *plain, "resumed from an async checkpoint");
}

TEST(Checkpointing, TrainerRunResumesFromPath) {
  SharedDir dir(world());
  auto cfg = small_config("adamw", 12, dir.path());
  cfg.checkpoint.every = 5;
  cfg.log.metrics = dir.file("first.jsonl");
  Trainer first(runtime::RuntimeContext{&world(), 0, 1}, cfg);
  first.prepare();
  first.run();
  cfg.checkpoint.every = 0;
  cfg.checkpoint.resume = dir.file("step-00000010.h5");
  cfg.log.metrics = dir.file("second.jsonl");
  cfg.train.log_every = 1;
  Trainer second(runtime::RuntimeContext{&world(), 0, 1}, cfg);
  second.prepare();
  second.run();
  expect_same_state(second, first, "run() resumed from step 10");
  if (world().rank() == 0) {
    std::ifstream in(dir.file("second.jsonl"));
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    ASSERT_EQ(lines.size(), 4u);  // resume event + steps 11 and 12 + the final evaluation
    EXPECT_EQ(runtime::JsonObject::parse(lines[0]).text("event"), "resume") << lines[0];
    EXPECT_EQ(runtime::JsonObject::parse(lines[1]).integer("step"), 11) << lines[1];
    EXPECT_EQ(runtime::JsonObject::parse(lines[1]).text("event"), "train") << lines[1];
    EXPECT_GT(runtime::JsonObject::parse(lines[1]).number("time"), 1.7e9) << lines[1];  // seconds since 1970
    EXPECT_EQ(runtime::JsonObject::parse(lines[3]).text("event"), "final") << lines[3];
    EXPECT_EQ(runtime::JsonObject::parse(lines[3]).integer("step"), 12) << lines[3];
  }
}

// The input normalisation travels with the model: a restore installs the checkpoint's
// (it is not recomputed from the data), and a malformed one is refused before anything changes.
TEST(Checkpointing, RestoreInstallsTheStoredNormalization) {
  SharedDir dir(world());
  const auto cfg = small_config("sgd", 4, dir.path());
  auto a = make_trainer(cfg);
  a->train_step();
  auto content = capture_training_state(*a, "");
  const auto* mean = content.find_tensor("/normalization/mean");
  ASSERT_NE(mean, nullptr);
  EXPECT_EQ(mean->value.item<double>(), a->data().norm.mean.at(0));
  content.tensors["/normalization/mean"].value = torch::tensor(std::vector<double>{0.125}, torch::kFloat64);
  content.tensors["/normalization/std"].value = torch::tensor(std::vector<double>{0.5}, torch::kFloat64);
  auto b = make_trainer(cfg);
  restore_training_state(*b, content, "in memory");
  EXPECT_EQ(b->data().norm.mean, std::vector<double>{0.125});
  EXPECT_EQ(b->data().norm.stddev, std::vector<double>{0.5});
  content.tensors.erase("/normalization/std");
  auto c = make_trainer(cfg);
  EXPECT_THROW(restore_training_state(*c, content, "in memory"), CheckpointError);
  EXPECT_EQ(c->data().norm.mean, a->data().norm.mean);
}

TEST(Checkpointing, GrowthBetweenSaveAndResume) {
  SharedDir dir(world());
  const auto cfg = small_config("adamw", 14, dir.path());
  auto ref = make_trainer(cfg);
  train(*ref, {9, 5});
  EXPECT_EQ(ref->model().widths().at("fc1"), 16);
  auto resumed = make_trainer(cfg);
  resume_from(*resumed, dir.file("step-00000005.h5"));
  train(*resumed, {9});
  expect_same_state(*resumed, *ref, "growth at 9 after a checkpoint at 5");
}

TEST(Checkpointing, GrowthAtTheCheckpointStep) {
  SharedDir dir(world());
  const auto cfg = small_config("sgd", 14, dir.path());
  auto ref = make_trainer(cfg);
  train(*ref, {8, 8, true});  // step-8 (before growth), step-8-pre-growth, step-8-post-growth
  for (const char* name : {"step-00000008.h5", "step-00000008-pre-growth.h5", "step-00000008-post-growth.h5"}) {
    auto resumed = make_trainer(cfg);
    resume_from(*resumed, dir.file(name));
    // The post-growth file holds a grown model: restored at its stored width, not the config's.
    EXPECT_EQ(resumed->model().widths().at("fc1"), std::string(name).find("post") != std::string::npos ? 16 : 12)
        << name;
    train(*resumed, {8});
    expect_same_state(*resumed, *ref, std::string("growth at the checkpoint step, resumed from ") + name);
  }
}

// A grown checkpoint restores into a run configured with other widths: the stored
// architecture wins, and so do the optimizer state shapes.
TEST(Checkpointing, GrownModelRestoresIntoOtherConfiguredWidths) {
  SharedDir dir(world());
  auto cfg = small_config("adamw", 6, dir.path());
  auto grown = make_trainer(cfg);
  train(*grown, {3, 6});
  auto other = cfg;
  other.model.set_ints("widths", {40, 3});
  auto t = make_trainer(other);
  resume_from(*t, dir.file("step-00000006.h5"));
  EXPECT_EQ(t->model().widths(), (std::map<std::string, int64_t>{{"fc1", 16}, {"fc2", 8}}));
  EXPECT_EQ(t->optimizer().slots("fc1.weight").at("exp_avg").sizes(), torch::IntArrayRef({16, 784}));
  expect_same_state(*t, *grown, "grown model restored into other widths");
}

// Throws on every rank; the message has every piece of `wanted`; the trainer is untouched.
template <typename E>
void expect_restore_fails(Trainer& t, const runtime::CheckpointContent& content, const std::vector<std::string>& wanted) {
  auto before = t.model().params().parameter("fc1.weight").clone();
  const int64_t step = t.step();
  std::string message;
  try {
    restore_training_state(t, content, "test.h5");
  } catch (const E& e) {
    message = e.what();
  }
  ASSERT_FALSE(message.empty()) << "restore accepted the content";
  for (const auto& s : wanted) EXPECT_NE(message.find(s), std::string::npos) << "'" << s << "' not in: " << message;
  EXPECT_TRUE(t.model().params().parameter("fc1.weight").equal(before));
  EXPECT_EQ(t.step(), step);
}

TEST(Checkpointing, IncompleteOrIncompatibleCheckpointsAreRejected) {
  SharedDir dir(world());
  const auto cfg = small_config("sgd", 3, dir.path());
  auto src = make_trainer(cfg);
  train(*src, {});
  const auto good = capture_training_state(*src, "");
  auto t = make_trainer(cfg);

  auto missing = good;
  missing.tensors.erase("/optimizer/fc1/weight/momentum_buffer");
  expect_restore_fails<CheckpointError>(*t, missing, {"test.h5", "missing tensor /optimizer/fc1/weight/momentum_buffer"});
  auto no_param = good;
  no_param.tensors.erase("/model/fc2/bias");
  expect_restore_fails<CheckpointError>(*t, no_param, {"missing tensor /model/fc2/bias"});
  auto bad_shape = good;
  bad_shape.tensors["/model/fc1/weight"].value = torch::zeros({3, 3});
  expect_restore_fails<CheckpointError>(*t, bad_shape, {"/model/fc1/weight has shape [3, 3]", "needs [12, 784]"});
  auto adam = good;
  adam.groups["/optimizer"]["name"] = std::string("adamw");
  expect_restore_fails<ConfigError>(*t, adam, {"holds adamw optimizer state", "--optim.name sgd"});
  auto deeper = good;
  deeper.groups["/architecture"]["spec"] = std::string("kind=mlp;in=1x28x28;classes=10;conv=;widths=12,8,4;bn=1");
  expect_restore_fails<ConfigError>(*t, deeper, {"mlp 784-12-8-4-10 bn", "cannot continue"});

  // Content whose checksums pass but that LibTorch would reject or choke on: validated
  // before anything is built, as CheckpointError (so --resume auto falls back past it).
  auto rng = good;
  rng.tensors["/rng/torch_cpu"].value = torch::zeros({7}, torch::kUInt8);
  expect_restore_fails<CheckpointError>(*t, rng, {"/rng/torch_cpu has dtype", "[7]"});
  auto rng_type = good;
  rng_type.tensors["/rng/torch_cpu"].value = torch::zeros({5056}, torch::kFloat32);
  expect_restore_fails<CheckpointError>(*t, rng_type, {"/rng/torch_cpu has dtype"});
  // Above the hard limit of units per layer, and within it but matching no stored tensor.
  for (const auto& [width, reason] : std::vector<std::pair<std::string, std::string>>{
           {"1000000000", "above the limit of"}, {"12000", "which no stored /model tensor"}}) {
    auto absurd = good;
    absurd.groups["/architecture"]["spec"] = concat("kind=mlp;in=1x28x28;classes=10;conv=;widths=", width, ",8;bn=1");
    expect_restore_fails<CheckpointError>(*t, absurd, {concat("width ", width), reason});
  }
  for (int64_t step : {int64_t{-1}, int64_t{4}, int64_t{1} << 50}) {
    auto far = good;
    far.root["step"] = step;
    expect_restore_fails<CheckpointError>(*t, far, {concat("step ", step)});
  }
  for (const char* key : {"lr", "momentum"}) {
    auto hyper = good;
    hyper.groups["/optimizer"][key] = std::numeric_limits<double>::quiet_NaN();
    expect_restore_fails<CheckpointError>(*t, hyper, {concat("optimizer hyper-parameter ", key, " is")});
  }
  auto inf = good;
  inf.tensors["/model/fc1/bias"].value = torch::full({12}, std::numeric_limits<float>::infinity());
  expect_restore_fails<CheckpointError>(*t, inf, {"/model/fc1/bias holds Inf or NaN"});

  // The same content, complete, restores.
  EXPECT_NO_THROW(restore_training_state(*t, good, "good.h5"));
  expect_same_state(*t, *src, "complete content");
}

// --resume auto: `latest` names a corrupt file and a killed writer left a temporary file;
// the newest good checkpoint is used. An empty directory is a fresh start.
TEST(Checkpointing, ResumeAutoSkipsTemporaryAndCorruptFiles) {
  SharedDir dir(world());
  auto cfg = small_config("sgd", 8, dir.path());
  auto src = make_trainer(cfg);
  while (src->step() < 6) {
    src->train_step();
    if (src->step() % 2 == 0) save_checkpoint(*src);
  }
  if (world().rank() == 0) {
    // step-6 (named by `latest`): one flipped byte in the data of /model/fc2/weight.
    const std::string bad = dir.file("step-00000006.h5");
    hid_t file = H5Fopen(bad.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset = H5Dopen2(file, "/model/fc2/weight", H5P_DEFAULT);
    const auto off = static_cast<std::streamoff>(H5Dget_offset(dset)) + 5;
    H5Dclose(dset);
    H5Fclose(file);
    std::fstream f(bad, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(off);
    char b = 0;
    f.read(&b, 1);
    b = static_cast<char>(b ^ 1);
    f.seekp(off);
    f.write(&b, 1);
    f.close();
    std::ofstream(dir.file("step-00000007.h5.tmp")) << "partial file of a killed writer";
  }
  world().barrier();
  cfg.checkpoint.resume = "auto";
  auto t = make_trainer(cfg);
  EXPECT_TRUE(resume_training(*t));
  EXPECT_EQ(t->step(), 4);

  SharedDir empty(world());
  cfg.checkpoint.dir = empty.path();
  auto fresh = make_trainer(cfg);
  EXPECT_FALSE(resume_training(*fresh));
  EXPECT_EQ(fresh->step(), 0);
}

TEST(Checkpointing, KeepLastKRemovesExactlyTheOlderOnes) {
  SharedDir dir(world());
  auto cfg = small_config("sgd", 8, dir.path());
  cfg.checkpoint.keep = 2;
  auto t = make_trainer(cfg);
  if (world().rank() == 0) std::ofstream(dir.file("notes.txt")) << "not a checkpoint";
  world().barrier();
  for (int i = 0; i < 5; ++i) {
    t->train_step();
    save_checkpoint(*t);
  }
  const auto left = runtime::list_checkpoints(dir.path(), checkpoint_tag_order());
  EXPECT_EQ(left, (std::vector<std::string>{"step-00000005.h5", "step-00000004.h5"}));
  EXPECT_EQ(runtime::read_latest(dir.path()), "step-00000005.h5");
  std::ifstream notes(dir.file("notes.txt"));
  EXPECT_TRUE(notes.good());
}

// Entries with checkpoint names that are not usable checkpoints (a directory, a FIFO, a
// symlink to /dev/zero, a truncated file) take no keep slot and are not removed; the good
// checkpoints are kept; --resume auto falls back past them to the newest good one.
TEST(Checkpointing, PruningCountsOnlyCheckpointsThatVerify) {
  SharedDir dir(world());
  auto cfg = small_config("sgd", 8, dir.path());
  cfg.checkpoint.keep = 2;
  auto t = make_trainer(cfg);
  t->train_step();
  const std::string first = save_checkpoint(*t);
  if (world().rank() == 0) {
    ASSERT_EQ(::mkdir(dir.file("step-00000099.h5").c_str(), 0700), 0);
    ASSERT_EQ(::mkfifo(dir.file("step-00000098.h5").c_str(), 0600), 0);
    ASSERT_EQ(::symlink("/dev/zero", dir.file("step-00000097.h5").c_str()), 0);
    std::ifstream in(first, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir.file("step-00000096.h5"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  world().barrier();
  for (int i = 0; i < 3; ++i) {
    t->train_step();
    save_checkpoint(*t);
  }
  const auto left = runtime::list_checkpoints(dir.path(), checkpoint_tag_order());
  EXPECT_EQ(left, (std::vector<std::string>{"step-00000099.h5", "step-00000098.h5", "step-00000097.h5",
                                            "step-00000096.h5", "step-00000004.h5", "step-00000003.h5"}));
  cfg.checkpoint.resume = "auto";
  auto resumed = make_trainer(cfg);
  ::unlink(dir.file("latest").c_str());  // (rank 0's view decides) every candidate is tried newest first
  world().barrier();
  EXPECT_TRUE(resume_training(*resumed));
  EXPECT_EQ(resumed->step(), 4);
}

// One job per checkpoint directory: a second holder is refused with one line until the
// first lets go (a process that ends lets go, however it ends).
TEST(Checkpointing, CheckpointDirectoryLockExcludesASecondJob) {
  SharedDir dir(world());
  const std::string ck = dir.file("ck");  // created by the lock
  std::string warning;
  auto held = runtime::CheckpointDirLock::acquire(world(), ck, &warning);
  EXPECT_EQ(warning, "");
  try {
    runtime::CheckpointDirLock::acquire(world(), ck, &warning);
    ADD_FAILURE() << "a second lock of the same directory was granted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint.dir '" + ck + "' is in use by another job (host "),
              std::string::npos)
        << e.what();
  }
  held.reset();
  EXPECT_NO_THROW(runtime::CheckpointDirLock::acquire(world(), ck, &warning));
}

}  // namespace
}  // namespace sprout::launch
