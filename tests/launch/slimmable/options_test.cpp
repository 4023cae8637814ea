// train.mode / slim.* options: defaults, an INI section, and one clear line per bad value.
#include "launch/slimmable/options.h"

#include <gtest/gtest.h>

#include "launch/train/train_config.h"
#include "runtime/error.h"
#include "test_util.h"

namespace sprout::launch {
namespace {

std::string slim_error(const std::vector<std::string>& args) {
  try {
    read_train_config(Options::parse(train_option_table(), args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SlimmableOptions, DefaultsAreStandardTrainingAndDsNetSettings) {
  const auto c = read_train_config(Options::parse(train_option_table(), {}));
  EXPECT_FALSE(c.slim.enabled);
  EXPECT_EQ(c.slim.spec.ratios, (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  EXPECT_EQ(c.slim.random, 2);
  EXPECT_EQ(c.slim.distill, "bootstrap");
  EXPECT_DOUBLE_EQ(c.slim.ema_decay, 0.997);
  EXPECT_TRUE(c.slim.spec.attention);
  EXPECT_EQ(c.slim.gate_steps, 0);
}

TEST(SlimmableOptions, ReadFromAnIniSection) {
  sprout::testing::TempDir dir;
  sprout::testing::write_text(dir.file("s.ini"),
                              "[train]\nmode = slimmable\n[slim]\nratios = 0.5, 1\nrandom = 0\ndistill = inplace\n"
                              "gate_steps = 7\nattention = false\n");
  const auto c = read_train_config(Options::parse(train_option_table(), {"--config", dir.file("s.ini")}));
  EXPECT_TRUE(c.slim.enabled);
  EXPECT_EQ(c.slim.spec.ratios, (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(c.slim.random, 0);
  EXPECT_EQ(c.slim.distill, "inplace");
  EXPECT_EQ(c.slim.gate_steps, 7);
  EXPECT_FALSE(c.slim.spec.attention);
}

TEST(SlimmableOptions, BadValuesNameTheOption) {
  EXPECT_EQ(slim_error({"--train.mode", "slim"}),
            "--train.mode: 'slim' is not a training mode (standard, slimmable)");
  EXPECT_NE(slim_error({"--slim.ratios", "0.25,1.5"}).find("--slim.ratios: 1.5 is not a width ratio"),
            std::string::npos);
  EXPECT_NE(slim_error({"--slim.ratios", "1"}).find("--slim.ratios: needs at least two"), std::string::npos);
  EXPECT_NE(slim_error({"--slim.ratios", "0.5,x"}).find("slim.ratios"), std::string::npos);
  EXPECT_EQ(slim_error({"--slim.random", "-1"}), "--slim.random: -1 must be in [0, 64]");
  EXPECT_EQ(slim_error({"--slim.ema_decay", "1"}), "--slim.ema_decay: 1 must be in [0, 1)");
  EXPECT_EQ(slim_error({"--slim.distill", "inplace", "--slim.ensemble", "true"}),
            "--slim.ensemble: true needs slim.distill = bootstrap (the ensemble is of EMA sub-networks)");
  EXPECT_EQ(slim_error({"--slim.se_ratio", "0"}), "--slim.se_ratio: 0 must be in (0, 1]");
  EXPECT_EQ(slim_error({"--slim.gate_tau", "0"}), "--slim.gate_tau: 0 must be > 0");
  EXPECT_EQ(slim_error({"--slim.gate_macs_weight", "-1"}), "--slim.gate_macs_weight: -1 must be >= 0");
}

}  // namespace
}  // namespace sprout::launch
