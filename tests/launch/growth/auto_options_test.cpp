// growth.auto's options (launch/growth/options.h): defaults, reading, and one clear error
// naming the option and the value for every bad one. The checks that need the model
// (growth.max_params below it, growth.auto_sites) run in tests/e2e/auto_growth_test.sh.
#include <gtest/gtest.h>

#include "launch/growth/options.h"
#include "runtime/error.h"

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

TEST(AutoGrowthOptions, DefaultsAndReading) {
  const auto off = read({});
  EXPECT_FALSE(off.automatic.enabled);
  EXPECT_EQ(off.automatic.plateau.window, 50);
  EXPECT_EQ(off.automatic.plateau.patience, 3);
  EXPECT_EQ(off.automatic.fraction, 0.25);
  EXPECT_EQ(off.automatic.cost, "params");
  const auto c = read({"--growth.auto", "true", "--growth.window", "20", "--growth.patience", "0", "--growth.min_delta",
                       "0.05", "--growth.cooldown", "40", "--growth.auto_start", "100", "--growth.auto_fraction", "1",
                       "--growth.auto_cost", "macs", "--growth.max_params", "5000", "--growth.max_macs", "7000",
                       "--growth.auto_sites", "fc1,fc2", "--growth.auto_kinds", "width,depth"});
  const auto& a = c.automatic;
  EXPECT_TRUE(a.enabled);
  EXPECT_FALSE(c.enabled());  // not a written schedule
  EXPECT_EQ(a.plateau.window, 20);
  EXPECT_EQ(a.plateau.patience, 0);
  EXPECT_EQ(a.plateau.min_delta, 0.05);
  EXPECT_EQ(a.plateau.cooldown, 40);
  EXPECT_EQ(a.plateau.start, 100);
  EXPECT_EQ(a.fraction, 1.0);
  EXPECT_EQ(a.cost, "macs");
  EXPECT_EQ(a.max_params, 5000);
  EXPECT_EQ(a.max_macs, 7000);
  EXPECT_EQ(a.sites, (std::vector<std::string>{"fc1", "fc2"}));
  EXPECT_EQ(a.kinds, (std::vector<std::string>{"width", "depth"}));
  EXPECT_TRUE(off.automatic.kinds.empty());  // both, where the model can
}

TEST(AutoGrowthOptions, BadValuesNameTheOptionAndTheValue) {
  const std::vector<std::string> on{"--growth.auto", "true"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), on.begin(), on.end());
    return error_of(more);
  };
  EXPECT_EQ(with({"--growth.patience", "-1"}), "--growth.patience: -1 must be >= 0");
  EXPECT_EQ(with({"--growth.window", "0"}), "--growth.window: 0 must be > 0");
  EXPECT_EQ(with({"--growth.min_delta", "-0.1"}), "--growth.min_delta: -0.1 must be in [0, 1)");
  EXPECT_EQ(with({"--growth.min_delta", "1"}), "--growth.min_delta: 1 must be in [0, 1)");
  EXPECT_EQ(with({"--growth.cooldown", "-5"}), "--growth.cooldown: -5 must be >= 0");
  EXPECT_EQ(with({"--growth.auto_start", "-1"}), "--growth.auto_start: -1 must be >= 0");
  EXPECT_EQ(with({"--growth.auto_fraction", "0"}), "--growth.auto_fraction: 0 must be in (0, 1]");
  EXPECT_EQ(with({"--growth.auto_fraction", "1.5"}), "--growth.auto_fraction: 1.5 must be in (0, 1]");
  EXPECT_EQ(with({"--growth.max_params", "-1"}), "--growth.max_params: -1 must be >= 0");
  EXPECT_EQ(with({"--growth.max_macs", "-5"}), "--growth.max_macs: -5 must be >= 0");
  EXPECT_EQ(with({"--growth.auto_cost", "flops"}), "--growth.auto_cost: 'flops' is not one of params | macs | none");
  EXPECT_NE(with({"--growth.event", "5:fc1:+2"}).find("--growth.auto: true decides the growth itself"), std::string::npos);
  EXPECT_NE(with({"--growth.times", "2", "--growth.every", "5", "--growth.fraction", "0.5"})
                .find("--growth.auto: true decides the growth itself"),
            std::string::npos);
  // Its options alone would do nothing: refused.
  EXPECT_NE(error_of({"--growth.patience", "4"}).find("need --growth.auto true"), std::string::npos);
  EXPECT_NE(error_of({"--growth.max_params", "100000"}).find("need --growth.auto true"), std::string::npos);
  EXPECT_NE(error_of({"--growth.auto_sites", "fc1"}).find("need --growth.auto true"), std::string::npos);
  EXPECT_NE(error_of({"--growth.auto_kinds", "depth"}).find("need --growth.auto true"), std::string::npos);
  EXPECT_EQ(with({"--growth.auto_kinds", "width,deep"}), "--growth.auto_kinds: 'deep' is not one of width | depth");
  EXPECT_EQ(with({"--growth.auto_kinds", "depth", "--growth.auto_sites", "fc1"}),
            "--growth.auto_sites: names width groups, but --growth.auto_kinds is depth only");
}

}  // namespace
}  // namespace sprout::launch
