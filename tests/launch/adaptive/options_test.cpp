// model.adaptive / adaptive.* options and `sprout eval --truncate`: defaults, an INI
// section, and one clear line naming the option and the value for every bad value.
#include "launch/adaptive/options.h"

#include <gtest/gtest.h>

#include "growth/adaptive/adaptive.h"
#include "launch/adaptive/eval.h"
#include "launch/train/train_config.h"
#include "runtime/error.h"
#include "test_util.h"
#include "../train_config_error.h"

namespace sprout::launch {
namespace {

std::string config_error(const std::vector<std::string>& args) { return sprout::testing::train_config_error(args); }

TEST(AdaptiveOptions, DefaultsFollowThePaper) {
  const auto c = read_train_config(Options::parse(train_option_table(), {}));
  EXPECT_FALSE(c.adaptive.enabled);
  EXPECT_DOUBLE_EQ(c.adaptive.spec.q, 0.9);
  EXPECT_DOUBLE_EQ(c.adaptive.prior.rate_mean, 0.01);
  EXPECT_DOUBLE_EQ(c.adaptive.prior.rate_scale, 0.01);
  EXPECT_DOUBLE_EQ(c.adaptive.prior.sigma_theta, 10.0);
  EXPECT_EQ(c.adaptive.check_every, 1);
  EXPECT_TRUE(c.adaptive.spec.sites.empty());
}

TEST(AdaptiveOptions, ReadFromAnIniSection) {
  sprout::testing::TempDir dir;
  sprout::testing::write_text(dir.file("a.ini"), "[model]\nadaptive = true\nadaptive_sites = fc2\n[adaptive]\nq = 0.8\n"
                                                 "check_every = 7\nrate_lr = 3\nmax_width = 99\n");
  const auto c = read_train_config(Options::parse(train_option_table(), {"--config", dir.file("a.ini")}));
  EXPECT_TRUE(c.adaptive.enabled);
  EXPECT_EQ(c.adaptive.spec.sites, (std::vector<std::string>{"fc2"}));
  EXPECT_DOUBLE_EQ(c.adaptive.spec.q, 0.8);
  EXPECT_EQ(c.adaptive.check_every, 7);
  EXPECT_DOUBLE_EQ(c.adaptive.rate_lr, 3.0);
  EXPECT_EQ(c.adaptive.spec.max_width, 99);
}

TEST(AdaptiveOptions, BadValuesNameTheOptionAndTheValue) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--adaptive.q", "1"}, "--adaptive.q: 1 must be in (0, 1)"},
      {{"--adaptive.q", "0"}, "--adaptive.q: 0 must be in (0, 1)"},
      {{"--adaptive.rate_floor", "0"}, "--adaptive.rate_floor: 0 must be > 0"},
      {{"--adaptive.max_width", "1"}, "--adaptive.max_width: 1 must be in [2, 1048576]"},
      {{"--adaptive.new_std", "-1"}, "--adaptive.new_std: -1 must be >= 0"},
      {{"--adaptive.sigma_theta", "0"}, "--adaptive.sigma_theta: 0 must be > 0"},
      {{"--adaptive.rate_mean", "-0.5"}, "--adaptive.rate_mean: -0.5 must be >= 0"},
      {{"--adaptive.rate_scale", "0"}, "--adaptive.rate_scale: 0 must be > 0"},
      {{"--adaptive.check_every", "0"}, "--adaptive.check_every: 0 must be > 0"},
      {{"--adaptive.rate_lr", "-2"}, "--adaptive.rate_lr: -2 must be > 0"},
      {{"--model.adaptive_sites", "fc1,,fc2", "--model.adaptive", "true"}, "--model.adaptive_sites: 'fc1,,fc2' has an empty site name"},
      {{"--model.adaptive_sites", "fc1"}, "--model.adaptive_sites: 'fc1' needs model.adaptive = true"},
      {{"--model.adaptive", "true", "--train.mode", "slimmable"}, "--model.adaptive: true cannot be combined with train.mode = slimmable"},
      {{"--model.adaptive", "true", "--growth.event", "3:fc1:+2"}, "--model.adaptive: true cannot be combined with growth events"},
  };
  for (const auto& [args, want] : cases) {
    const auto got = config_error(args);
    EXPECT_NE(got.find(want), std::string::npos) << "args " << args[0] << " " << args[1] << ": got '" << got << "'";
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
  }
  EXPECT_NE(config_error({"--model.adaptive", "maybe"}).find("model.adaptive"), std::string::npos);
}

TEST(AdaptiveOptions, TruncationSpecs) {
  growth::ArchSpec a;
  a.set_ints("widths", {40, 10});
  auto m = growth::build_model(a, 0);
  EXPECT_THROW(parse_truncation("all", *m), ConfigError);  // not adaptive
  growth::make_adaptive(*m, {});
  const auto all = parse_truncation("all", *m);
  ASSERT_EQ(all.size(), 11u);
  EXPECT_EQ(all.back().active, m->widths());
  EXPECT_EQ(all.front().active, (std::map<std::string, int64_t>{{"fc1", 2}, {"fc2", 1}}));
  EXPECT_EQ(parse_truncation("0.5", *m)[0].active, (std::map<std::string, int64_t>{{"fc1", 20}, {"fc2", 5}}));
  EXPECT_EQ(parse_truncation("12", *m)[0].active, (std::map<std::string, int64_t>{{"fc1", 12}, {"fc2", 10}}));
  EXPECT_EQ(parse_truncation("1", *m)[0].active, (std::map<std::string, int64_t>{{"fc1", 1}, {"fc2", 1}}));
  EXPECT_EQ(parse_truncation("1.0", *m)[0].active, m->widths());
  for (const char* bad : {"0", "-3", "1.5", "0.0", "half", "", "2.5e3x"}) {
    try {
      parse_truncation(bad, *m);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("--truncate: '") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sprout::launch
