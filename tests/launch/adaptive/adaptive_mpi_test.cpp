// Adaptive width under MPI (launch/adaptive/step.h): a width change — one site grown, one
// shrunk — leaves the ranks bitwise identical and the optimizer state consistent (old
// entries kept in the shared region, new entries 0); ranks whose rates disagree all fail
// with the surgery's decide error (no hang); a run whose widths change resumes
// from a checkpoint bitwise equal to the uninterrupted run, with its widths and rates.
// Run under mpiexec -n 2 and -n 3.
#include <gtest/gtest.h>

#include "growth/adaptive/adaptive.h"
#include "launch/adaptive/step.h"
#include "launch/train/trainer.h"
#include "mpi_test_env.h"
#include "../../runtime/checkpoint/checkpoint_test_util.h"
#include "runtime/error.h"
#include "runtime/comm/fingerprint.h"

namespace sprout::launch {
namespace {

using sprout::testing::SharedDir;
using sprout::testing::world;

TrainConfig adaptive_config() {
  auto c = read_train_config(Options::parse(train_option_table(), {"--model.adaptive", "true"}));
  c.data.name = "synthetic";
  c.data.synthetic_train = 512;
  c.data.synthetic_test = 64;
  c.model.set_ints("widths", {12, 8});
  c.train.batch = 8;
  c.train.steps = 12;
  c.train.seed = 3;
  c.optim.name = "adamw";
  c.optim.lr = 0.01;
  c.log.progress = "none";
  c.runtime.threads = 1;
  c.adaptive.rate_lr = 100;  // λ moves fast: widths change within a few steps
  c.adaptive.spec.max_width = 40;
  return c;
}

// Every rank's copy of `t` equals rank 0's.
bool same_on_all_ranks(const torch::Tensor& t) {
  auto all = world().allgather(t.detach().contiguous());  // (world, ...)
  for (int r = 1; r < world().size(); ++r) {
    if (!all[r].equal(all[0])) return false;
  }
  return true;
}

TEST(AdaptiveMpi, WidthChangeKeepsRanksIdenticalAndOptimizerStateOfTheSharedRegion) {
  Trainer t(runtime::RuntimeContext{&world(), 0, 1}, adaptive_config());
  t.prepare();
  t.engine().broadcast_state(0);
  for (int i = 0; i < 3; ++i) t.train_step();  // AdamW moments are non-zero now
  auto& p = t.model().params();
  std::map<std::string, std::map<std::string, torch::Tensor>> before;
  for (const auto& [name, slots] : t.optimizer().state()) {
    for (const auto& [slot, v] : slots) before[name][slot] = v.clone();
  }
  const auto steps_before = t.optimizer().step_counts();
  {  // fc1 to 20 units (grow), fc2 to 5 (shrink): set the rates on every rank alike
    torch::NoGradGuard g;
    p.parameter("adaptive.fc1.raw").fill_(growth::raw_for_width(20, 0.9));
    p.parameter("adaptive.fc2.raw").fill_(growth::raw_for_width(5, 0.9));
  }
  t.adaptive()->before_step(t.progress());  // step 3: a check step (check_every = 1)
  EXPECT_EQ(t.model().widths(), (std::map<std::string, int64_t>{{"fc1", 20}, {"fc2", 5}}));
  ASSERT_EQ(t.growth_history().size(), 2u);
  EXPECT_EQ(t.growth_history()[0].strategy, "adaptive");

  for (size_t i = 0; i < p.num_parameters(); ++i) {
    EXPECT_TRUE(same_on_all_ranks(p.parameter(i))) << p.parameter_name(i);
  }
  for (const auto& [name, slots] : t.optimizer().state()) {
    const auto& shape = p.parameter(name).sizes();
    EXPECT_EQ(t.optimizer().step_counts().at(name), steps_before.at(name)) << name;
    for (const auto& [slot, v] : slots) {
      EXPECT_EQ(v.sizes(), shape) << name << "." << slot;
      EXPECT_TRUE(same_on_all_ranks(v)) << name << "." << slot;
      const auto& old = before.at(name).at(slot);
      auto a = v, b = old;
      for (int64_t d = 0; d < v.dim(); ++d) {
        const int64_t n = std::min(v.size(d), old.size(d));
        a = a.narrow(d, 0, n);
        b = b.narrow(d, 0, n);
      }
      EXPECT_TRUE(a.equal(b)) << name << "." << slot << ": old entries must be kept";
      EXPECT_NEAR(v.abs().sum().item<double>(), a.abs().sum().item<double>(), 1e-6) << name << "." << slot
                                                                                   << ": new entries must be 0";
    }
  }
  EXPECT_GT(before.at("fc1.weight").at("exp_avg_sq").abs().sum().item<double>(), 0);
  // Training goes on at the new widths (buckets rebuilt) and the replicas stay equal.
  for (int i = 0; i < 3; ++i) t.train_step();
  runtime::verify_identical(world(), p, &t.optimizer(), "after adaptive training");
}

TEST(AdaptiveMpi, RanksThatDisagreeOnAWidthFailTogetherInsteadOfHanging) {
  auto cfg = adaptive_config();
  cfg.adaptive.rate_lr = 1;  // one step leaves the widths alone
  Trainer t(runtime::RuntimeContext{&world(), 0, 1}, cfg);
  t.prepare();
  t.engine().broadcast_state(0);
  t.train_step();
  ASSERT_EQ(growth::target_widths(t.model(), cfg.adaptive.spec), t.model().widths());
  {  // only the last rank's λ says "fc1 grows to 30": a replica that diverged
    torch::NoGradGuard g;
    if (world().rank() == world().size() - 1) {
      t.model().params().parameter("adaptive.fc1.raw").fill_(growth::raw_for_width(30, 0.9));
    }
  }
  try {
    t.adaptive()->before_step(t.progress());
    ADD_FAILURE() << "no error on rank " << world().rank();
  } catch (const SurgeryError& e) {
    EXPECT_NE(std::string(e.what()).find("ranks disagree on the surgery"), std::string::npos) << e.what();
    if (world().rank() == world().size() - 1) {
      EXPECT_NE(std::string(e.what()).find("'adaptive step 1: fc1 12->30'"), std::string::npos) << e.what();
    }
  }
}

TEST(AdaptiveMpi, ResumedRunEqualsTheUninterruptedOneWithWidthsAndRates) {
  SharedDir dir(world());
  auto cfg = adaptive_config();
  cfg.checkpoint.dir = dir.path();
  cfg.checkpoint.every = 6;
  cfg.checkpoint.keep = 0;
  Trainer full(runtime::RuntimeContext{&world(), 0, 1}, cfg);
  full.prepare();
  full.run();
  EXPECT_FALSE(full.growth_history().empty()) << "the widths never changed: the test would prove nothing";
  EXPECT_NE(full.model().widths(), (std::map<std::string, int64_t>{{"fc1", 12}, {"fc2", 8}}));

  auto rc = cfg;
  rc.checkpoint.every = 0;
  rc.checkpoint.resume = dir.file("step-00000006.h5");
  Trainer resumed(runtime::RuntimeContext{&world(), 0, 1}, rc);
  resumed.prepare();
  resumed.run();
  const auto& a = full.model().params();
  const auto& b = resumed.model().params();
  ASSERT_EQ(a.parameter_names(), b.parameter_names());
  for (size_t i = 0; i < a.num_parameters(); ++i) {
    EXPECT_TRUE(a.parameter(i).sizes() == b.parameter(i).sizes() && a.parameter(i).equal(b.parameter(i)))
        << a.parameter_name(i);
  }
  EXPECT_EQ(full.model().widths(), resumed.model().widths());
  EXPECT_EQ(full.growth_history().size(), resumed.growth_history().size());

  // Restoring the step-6 checkpoint into a fresh trainer gives that step's widths and rates.
  auto at6 = cfg;
  at6.checkpoint.every = 0;
  at6.checkpoint.resume = dir.file("step-00000006.h5");
  at6.train.steps = 6;  // nothing left to train
  Trainer r6(runtime::RuntimeContext{&world(), 0, 1}, at6);
  r6.prepare();
  r6.run();
  int64_t changes_by_6 = 0;
  auto widths6 = std::map<std::string, int64_t>{{"fc1", 12}, {"fc2", 8}};
  for (const auto& h : full.growth_history()) {
    if (h.step < 6) widths6[h.site] = h.new_width, ++changes_by_6;
  }
  EXPECT_EQ(r6.model().widths(), widths6);
  EXPECT_EQ(static_cast<int64_t>(r6.growth_history().size()), changes_by_6);
  EXPECT_TRUE(r6.model().params().has_parameter("adaptive.fc1.raw"));
  EXPECT_NE(r6.model().params().parameter("adaptive.fc1.raw").item<double>(), growth::raw_for_width(12, 0.9));
}

}  // namespace
}  // namespace sprout::launch
