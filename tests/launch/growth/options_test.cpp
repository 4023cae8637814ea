// Growth options: defaults, INI + command line, and one clear error per bad value.
#include "launch/growth/options.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "launch/train/train_config.h"
#include "runtime/error.h"
#include "test_util.h"

namespace sprout::launch {
namespace {

GrowthConfig read(const std::vector<std::string>& args) {
  return read_growth_config(Options::parse(growth_option_table(), args));
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    read(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// The strategy list and the strategies' own options come from the registry
// (growth/strategies/strategy.cpp), not from a copy in launch.
TEST(GrowthOptions, StrategiesAndTheirOptionsComeFromTheRegistry) {
  const auto table = growth_option_table();
  std::string strategy_help;
  std::vector<std::string> names;
  for (const auto& o : table) {
    names.push_back(o.name);
    if (o.name == "growth.strategy") strategy_help = o.help;
  }
  for (const auto& s : growth::strategy_names()) EXPECT_NE(strategy_help.find(s), std::string::npos) << s;
  for (const char* own : {"growth.scale", "growth.scale_mode", "growth.noise"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), own), 1) << own;  // declared by gradmax and random: once
  }
  const auto c = read({"--growth.strategy", "net2net", "--growth.noise", "0.25", "--growth.scale_mode", "fixed"});
  EXPECT_EQ(c.options.noise, 0.25);
  EXPECT_EQ(c.options.scale_mode, "fixed");
}

TEST(GrowthOptions, DefaultsAreOff) {
  const auto c = read({});
  EXPECT_FALSE(c.enabled());
  EXPECT_EQ(c.strategy, "gradmax");
  EXPECT_EQ(c.options.scale, 0.5);
  EXPECT_EQ(c.options.scale_mode, "mean_norm");
  EXPECT_EQ(c.batch, 128);
}

TEST(GrowthOptions, EventsAccumulateFromFileAndCommandLine) {
  sprout::testing::TempDir dir;
  sprout::testing::write_text(dir.file("g.ini"), "[growth]\nstrategy = vt\nevent = 10:fc1:+4\nevent = 20:fc2:+2\n");
  const auto c = read({"--config", dir.file("g.ini"), "--growth.event", "30:fc1:+1"});
  EXPECT_EQ(c.strategy, "vt");
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].text, "10:fc1:+4");
  EXPECT_EQ(c.events[2].text, "30:fc1:+1");
  EXPECT_TRUE(c.enabled());
}

TEST(GrowthOptions, BadValuesNameTheOption) {
  EXPECT_EQ(error_of({"--growth.event", "5:fc1:+0"}), "--growth.event: '5:fc1:+0': K must be > 0, got 0");
  EXPECT_NE(error_of({"--growth.strategy", "firefly"}).find("--growth.strategy: unknown strategy 'firefly'"),
            std::string::npos);
  EXPECT_EQ(error_of({"--growth.scale", "-1"}), "--growth.scale: -1 must be > 0");
  EXPECT_EQ(error_of({"--growth.batch", "0"}), "--growth.batch: 0 must be > 0");
  EXPECT_NE(error_of({"--growth.scale_mode", "max"}).find("--growth.scale_mode"), std::string::npos);
  EXPECT_NE(error_of({"--growth.times", "2", "--growth.every", "5", "--growth.event", "1:fc1:+1", "--growth.fraction",
                      "0.25"}).find("not both"), std::string::npos);
  EXPECT_NE(error_of({"--growth.times", "2", "--growth.every", "5"}).find("exactly one of"), std::string::npos);
  EXPECT_NE(error_of({"--growth.target", "fc1:10"}).find("need --growth.times"), std::string::npos);
  EXPECT_NE(error_of({"--growth.times", "3", "--growth.target", "fc1:10"}).find("--growth.every"), std::string::npos);
}

TEST(GrowthOptions, TrainConfigCarriesThem) {
  const auto c = read_train_config(Options::parse(
      train_option_table(), {"--data.name", "synthetic", "--growth.event", "3:fc1:+2", "--growth.scale", "0.25"}));
  ASSERT_EQ(c.growth.events.size(), 1u);
  EXPECT_EQ(c.growth.options.scale, 0.25);
  EXPECT_NE(c.text.find("growth.event = 3:fc1:+2"), std::string::npos);
}

}  // namespace
}  // namespace sprout::launch
