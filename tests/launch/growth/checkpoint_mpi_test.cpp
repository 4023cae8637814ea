// Real growth events around checkpoints (launch/growth/driver.cpp + checkpointing.cpp):
// checkpoint.around_growth writes pre- and post-growth files, and resuming from either
// ends bitwise equal to the uninterrupted run, without growing twice.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "launch/checkpoint/run_state.h"
#include "launch/train/trainer.h"
#include "mpi_test_env.h"
#include "../../runtime/checkpoint/checkpoint_test_util.h"

namespace sprout::launch {
namespace {

using sprout::testing::SharedDir;
using sprout::testing::world;

TrainConfig grow_config(const std::string& strategy, const std::string& dir) {
  auto c = read_train_config(Options::parse(
      train_option_table(), {"--growth.event", "4:fc1:+6", "--growth.event", "4:fc2:+3", "--growth.event", "7:fc1:+2",
                             "--growth.strategy", strategy, "--growth.batch", "24"}));
  c.data.name = "synthetic";
  c.data.synthetic_train = 512;
  c.data.synthetic_test = 64;
  c.model.set_ints("widths", {10, 6});
  c.train.batch = 8;
  c.train.steps = 10;
  c.train.seed = 5;
  c.optim.name = "adamw";
  c.log.progress = "none";
  c.runtime.threads = 1;
  c.checkpoint.dir = dir;
  c.checkpoint.keep = 0;
  return c;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

void expect_equal_params(Trainer& a, Trainer& b, const std::string& label) {
  const auto& pa = a.model().params();
  const auto& pb = b.model().params();
  ASSERT_EQ(pa.num_parameters(), pb.num_parameters());
  for (size_t i = 0; i < pa.num_parameters(); ++i) {
    EXPECT_TRUE(pa.parameter(i).sizes() == pb.parameter(i).sizes() && pa.parameter(i).equal(pb.parameter(i)))
        << label << ": " << pa.parameter_name(i);
  }
  for (const auto& [name, slots] : a.optimizer().state()) {
    for (const auto& [slot, t] : slots) {
      EXPECT_TRUE(t.equal(b.optimizer().state().at(name).at(slot))) << label << ": " << name << "." << slot;
    }
  }
  EXPECT_EQ(a.growth_history().size(), b.growth_history().size()) << label;
  EXPECT_EQ(a.model().widths(), b.model().widths()) << label;
}

void resume_around_growth(const std::string& strategy) {
  SharedDir dir(world());
  auto cfg = grow_config(strategy, dir.path());
  cfg.checkpoint.around_growth = true;
  Trainer full(runtime::RuntimeContext{&world(), 0, 1}, cfg);
  full.prepare();
  full.run();
  ASSERT_EQ(full.growth_history().size(), 3u);
  EXPECT_EQ(full.model().widths(), (std::map<std::string, int64_t>{{"fc1", 18}, {"fc2", 9}}));
  for (const char* f : {"step-00000004-pre-growth.h5", "step-00000004-post-growth.h5", "step-00000007-pre-growth.h5",
                        "step-00000007-post-growth.h5"}) {
    EXPECT_TRUE(exists(dir.file(f))) << f;
  }
  for (const char* f : {"step-00000004-pre-growth.h5", "step-00000004-post-growth.h5", "step-00000007-post-growth.h5"}) {
    auto rc = cfg;
    rc.checkpoint.around_growth = false;
    rc.checkpoint.resume = dir.file(f);
    Trainer resumed(runtime::RuntimeContext{&world(), 0, 1}, rc);
    resumed.prepare();
    resumed.run();
    expect_equal_params(resumed, full, std::string(strategy) + " resumed from " + f);
  }
}

TEST(GrowthCheckpoint, ResumeAroundGradMaxGrowthIsExact) { resume_around_growth("gradmax"); }
TEST(GrowthCheckpoint, ResumeAroundVarianceTransferIsExact) { resume_around_growth("vt"); }
TEST(GrowthCheckpoint, ResumeAroundNet2NetIsExact) { resume_around_growth("net2net"); }

}  // namespace
}  // namespace sprout::launch
