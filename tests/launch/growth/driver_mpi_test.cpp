// Growth inside the training loop (mpiexec -n 2, -n 3): events fire exactly at their steps,
// before the step's update; widths end at the target on every rank; training goes on with
// finite, falling loss; a schedule that does not fit is a ConfigError before training.
#include <gtest/gtest.h>

#include <cmath>

#include "launch/growth/driver.h"
#include "launch/train/trainer.h"
#include "mpi_test_env.h"
#include "runtime/error.h"
#include "runtime/comm/fingerprint.h"

namespace sprout::launch {
namespace {

using sprout::testing::world;

TrainConfig config(const std::string& kind, const std::vector<std::string>& growth_args) {
  std::vector<std::string> args = {"--data.name", "synthetic", "--data.synthetic_train", "1024",
                                   "--data.synthetic_test", "256", "--train.batch", "16", "--train.seed", "3",
                                   "--log.progress", "none", "--runtime.threads", "1", "--optim.lr", "0.05",
                                   "--model.kind", kind};
  if (kind == "cnn") {
    for (const char* a : {"--model.conv", "4,6", "--model.widths", "16", "--model.batch_norm", "true"}) args.push_back(a);
  } else {
    for (const char* a : {"--model.widths", "8,8"}) args.push_back(a);
  }
  args.insert(args.end(), growth_args.begin(), growth_args.end());
  return read_train_config(Options::parse(train_option_table(), args));
}

TEST(GrowthTraining, EventsFireAtTheirStepsAndTheRunEndsAtTheTarget) {
  auto& w = world();
  for (const std::string strategy : {"gradmax", "vt"}) {
    SCOPED_TRACE(strategy);
    auto c = config("mlp", {"--train.steps", "60", "--growth.strategy", strategy, "--growth.event", "10:fc1:+8",
                            "--growth.event", "25:fc2:+4", "--growth.event", "25:fc1:+3", "--optim.name", "adamw"});
    c.optim.lr = c.schedule.base_lr = 0.01;
    Trainer t(runtime::RuntimeContext{&w, 0, 1}, c);
    t.prepare();
    const auto r = t.run();
    const auto& h = t.growth_history();
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[0].step, 10);
    EXPECT_EQ(h[0].site, "fc1");
    EXPECT_EQ(h[0].old_width, 8);
    EXPECT_EQ(h[0].new_width, 16);
    EXPECT_EQ(h[1].step, 25);
    EXPECT_EQ(h[1].site, "fc2");
    EXPECT_EQ(h[2].new_width, 19);
    EXPECT_EQ(h[2].strategy, strategy);
    EXPECT_GT(h[0].grad_norm, 0.0);
    EXPECT_EQ(r.widths, (std::map<std::string, int64_t>{{"fc1", 19}, {"fc2", 12}}));
    // Every update after step 10 reached the new units: AdamW counted all 60 steps, and
    // grown entries carry optimizer state.
    EXPECT_EQ(t.optimizer().step_count("fc1.weight"), 60);
    EXPECT_GT(t.optimizer().slots("fc1.weight").at("exp_avg").narrow(0, 8, 11).abs().sum().item<double>(), 0.0);
    EXPECT_NO_THROW(runtime::verify_identical(w, t.model().params(), &t.optimizer(), "end"));
    EXPECT_TRUE(std::isfinite(r.train_loss));
  }
}

TEST(GrowthTraining, GrowthAtTheLastStepHappensBeforeItsUpdate) {
  auto& w = world();
  auto c = config("mlp", {"--train.steps", "5", "--growth.event", "4:fc1:+2"});
  Trainer t(runtime::RuntimeContext{&w, 0, 1}, c);
  t.prepare();
  t.run();
  ASSERT_EQ(t.growth_history().size(), 1u);
  // GradMax starts the fan-in at exactly 0; one update later it is not.
  EXPECT_GT(t.model().params().parameter("fc1.weight").narrow(0, 8, 2).abs().sum().item<double>(), 0.0);
}

TEST(GrowthTraining, TrainingContinuesWithFiniteFallingLoss) {
  auto& w = world();
  for (const std::string kind : {"mlp", "cnn"}) {
    for (const std::string strategy : {"gradmax", "random", "net2net", "vt", "zeros"}) {
      SCOPED_TRACE(kind + " " + strategy);
      const std::string site = kind == "cnn" ? "conv2" : "fc1";
      auto c = config(kind, {"--train.steps", "1", "--optim.schedule", "constant", "--growth.strategy", strategy,
                              "--growth.event", "0:" + site + ":+4"});
      c.optim.lr = c.schedule.base_lr = 0.02;
      Trainer t(runtime::RuntimeContext{&w, 0, 1}, c);
      t.prepare();
      t.run();  // growth before step 0, then one step
      ASSERT_EQ(t.growth_history().size(), 1u);
      std::vector<double> losses;
      for (int s = 0; s < 80; ++s) {
        const double l = runtime::allreduce_scalar(w, t.train_step(), runtime::ReduceOp::Avg);
        ASSERT_TRUE(std::isfinite(l)) << "step " << s;
        losses.push_back(l);
      }
      double first = 0, last = 0;
      for (int s = 0; s < 10; ++s) first += losses[s] / 10;
      for (int s = 70; s < 80; ++s) last += losses[s] / 10;
      EXPECT_LT(last, 0.8 * first) << "first " << first << " last " << last;
      EXPECT_NO_THROW(runtime::verify_identical(w, t.model().params(), &t.optimizer(), "after training"));
    }
  }
}

TEST(GrowthTraining, CompactScheduleReachesTheTarget) {
  auto& w = world();
  auto c = config("cnn", {"--train.steps", "30", "--growth.start", "5", "--growth.every", "5", "--growth.times", "3",
                          "--growth.target", "conv1:8,fc1:21"});
  Trainer t(runtime::RuntimeContext{&w, 0, 1}, c);
  t.prepare();
  const auto r = t.run();
  EXPECT_EQ(r.widths, (std::map<std::string, int64_t>{{"conv1", 8}, {"conv2", 6}, {"fc1", 21}}));
  ASSERT_EQ(t.growth_history().size(), 6u);
  EXPECT_EQ(t.growth_history()[0].step, 5);
  EXPECT_EQ(t.growth_history()[5].step, 15);
}

TEST(GrowthTraining, ScheduleThatDoesNotFitIsAConfigErrorBeforeTraining) {
  auto& w = world();
  for (const auto& [event, message] :
       std::vector<std::pair<std::string, std::string>>{{"5:fc3:+4", "unknown width site 'fc3'"},
                                                        {"40:fc1:+4", "step 40 is beyond the run (20 steps"}}) {
    auto c = config("mlp", {"--train.steps", "20", "--growth.event", event});
    Trainer t(runtime::RuntimeContext{&w, 0, 1}, c);
    try {
      t.prepare();
      ADD_FAILURE() << event << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

TEST(GrowthTraining, GrowthBatchDependsOnSeedAndStepOnly) {
  auto& w = world();
  auto c = config("mlp", {"--train.steps", "3"});
  Trainer t(runtime::RuntimeContext{&w, 0, 1}, c);
  t.prepare();
  const auto a = GrowthDriver::growth_batch(t.data(), 3, 100, 128, w.rank(), w.size());
  const auto b = GrowthDriver::growth_batch(t.data(), 3, 100, 128, w.rank(), w.size());
  const auto other = GrowthDriver::growth_batch(t.data(), 3, 101, 128, w.rank(), w.size());
  EXPECT_TRUE(a.x.equal(b.x));
  EXPECT_FALSE(a.x.equal(other.x));
  EXPECT_EQ(a.global_size, 128);
  // The shares of all ranks are the global batch: 128 distinct examples.
  const auto all = w.allgather(torch::tensor({a.x.size(0)}, torch::kInt64));
  EXPECT_EQ(all.sum().item<int64_t>(), 128);
}

}  // namespace
}  // namespace sprout::launch
