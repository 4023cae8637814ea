// checkpoint.* and --resume options (launch/checkpoint/options.h): defaults, values, and
// one clear error per bad value.
#include <gtest/gtest.h>

#include "launch/checkpoint/options.h"
#include "launch/checkpoint/run_state.h"
#include "launch/train/train_config.h"
#include "runtime/error.h"
#include "test_util.h"

namespace sprout::launch {
namespace {

CheckpointConfig parse(const std::vector<std::string>& args) {
  return read_checkpoint_config(Options::parse(checkpoint_option_table(), args));
}

void expect_config_error(const std::vector<std::string>& args, const std::string& wanted) {
  try {
    parse(args);
    ADD_FAILURE() << "accepted: " << args.front() << " " << args.back();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(wanted), std::string::npos) << e.what();
  }
}

TEST(CheckpointOptions, DefaultsAndValues) {
  const auto d = parse({});
  EXPECT_EQ(d.dir, "checkpoints");
  EXPECT_EQ(d.every, 0);
  EXPECT_EQ(d.keep, 3);
  EXPECT_FALSE(d.around_growth);
  EXPECT_FALSE(d.at_end);
  EXPECT_EQ(d.resume, "none");
  EXPECT_FALSE(d.writes());
  testing::TempDir dir;
  testing::write_text(dir.file("c.h5"), "x");
  const auto c = parse({"--checkpoint.dir", dir.path() + "/", "--checkpoint.every", "50", "--checkpoint.keep", "0",
                        "--checkpoint.around_growth", "true", "--checkpoint.at_end", "yes", "--resume",
                        dir.file("c.h5")});
  EXPECT_EQ(c.dir, dir.path());
  EXPECT_EQ(c.every, 50);
  EXPECT_EQ(c.keep, 0);
  EXPECT_TRUE(c.around_growth && c.at_end && c.writes());
  EXPECT_EQ(c.resume, dir.file("c.h5"));
  // Part of `sprout train`'s table and configuration.
  const auto train = read_train_config(Options::parse(train_option_table(), {"--data.name", "synthetic", "--resume", "auto"}));
  EXPECT_EQ(train.checkpoint.resume, "auto");
  EXPECT_NE(train.text.find("resume = auto"), std::string::npos);
}

TEST(CheckpointOptions, BadValuesNameTheOption) {
  testing::TempDir dir;
  testing::write_text(dir.file("file"), "x");
  expect_config_error({"--checkpoint.every", "-5"}, "--checkpoint.every: -5 must be >= 0");
  expect_config_error({"--checkpoint.every", "ten"}, "--checkpoint.every: 'ten' is not an integer");
  expect_config_error({"--checkpoint.keep", "-1"}, "--checkpoint.keep: -1 must be in [0, 1000000]");
  expect_config_error({"--checkpoint.at_end", "maybe"}, "--checkpoint.at_end: 'maybe' is not a boolean");
  expect_config_error({"--resume", "/no/such/file.h5"},
                      "--resume: '/no/such/file.h5' is not auto, none or an existing checkpoint file");
  expect_config_error({"--resume", dir.path()}, "is not auto, none or an existing checkpoint file");
  expect_config_error({"--checkpoint.every", "5", "--checkpoint.dir", dir.file("file")},
                      "--checkpoint.dir: '" + dir.file("file") + "' exists and is not a directory");
  expect_config_error({"--resume", "auto", "--checkpoint.dir", ""}, "--checkpoint.dir: '' must name a directory");
}

TEST(CheckpointOptions, ConfigDifferencesIgnoreWhereAndHowLong) {
  const std::string a = "checkpoint.every = 5\noptim.lr = 0.05\nresume = none\ntrain.steps = 10\nmodel.widths = 8\n";
  const std::string b = "checkpoint.every = 7\noptim.lr = 0.1\nresume = auto\ntrain.steps = 20\nmodel.widths = 8\n";
  EXPECT_EQ(config_differences(a, a), "");
  EXPECT_EQ(config_differences(a, b), "--optim.lr is '0.1' here, '0.05' in the checkpoint");
}

}  // namespace
}  // namespace sprout::launch
