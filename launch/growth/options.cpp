#include "launch/growth/options.h"

#include "runtime/error.h"

namespace sprout::launch {

namespace {

std::string names_text() {
  std::string out;
  for (const auto& n : growth::strategy_names()) out += (out.empty() ? "" : " | ") + n;
  return out;
}

}  // namespace

void bind_growth_options(OptionBinder& b, GrowthConfig& c) {
  b.add("growth.strategy", &c.strategy, "how new units start: " + names_text());
  OptionBinder::Prefixed growth_section(b, "growth.");
  growth::declare_strategy_settings(growth_section, c.options);  // growth/strategies/strategy.cpp
  b.add("growth.batch", &c.batch, "gradmax: global examples (split over ranks) for the growth statistics");
  b.add_parsed("growth.event", "", "STEP:SITE:+K, grow SITE (a width site or group: fc1, stage2, block1.heads, stream) by K "
               "units before step STEP, e.g. 600:fc1:+64; or STEP:PLACE:+Kblock, add K blocks (resnet: "
               "stage1..stage3, vit: blocks; growth/README.md \"Growing in depth\"), e.g. 600:stage2:+1block",
               [&c](const std::vector<std::string>& texts) {
                 c.events.clear();
                 for (const auto& text : texts) c.events.push_back(growth::parse_event(text));
               },
               /*repeatable=*/true);
  auto& s = c.compact;
  b.add("growth.start", &s.start, "compact schedule: step of the first growth");
  b.add("growth.every", &s.every, "compact schedule: steps between growths");
  b.add("growth.times", &s.times, "compact schedule: number of growths (0: off)");
  b.add_parsed("growth.target", "", "compact schedule: final widths, SITE:WIDTH,... (start: the model.* widths)",
               [&s](const std::vector<std::string>& v) { s.target = growth::parse_targets(v.back()); });
  b.add("growth.fraction", &s.fraction, "compact schedule: units added per growth as a fraction of the start width");
  b.add("growth.sites", &s.sites, "compact schedule with fraction: sites that grow (empty: all)");
}

OptionTable growth_option_table() { return table_of(bind_growth_options); }

GrowthConfig read_growth_config(const Options& o) {
  GrowthConfig c = load_bound(o, bind_growth_options);
  validate(c);
  return c;
}

void validate(const GrowthConfig& c) {
  growth::make_strategy(c.strategy);  // throws ConfigError listing the known names
  growth::validate(c.options);
  SPROUT_CHECK(c.batch > 0, ConfigError, "--growth.batch: ", c.batch, " must be > 0");
  const auto& s = c.compact;
  SPROUT_CHECK(s.times >= 0, ConfigError, "--growth.times: ", s.times, " must be >= 0");
  SPROUT_CHECK(s.start >= 0, ConfigError, "--growth.start: ", s.start, " must be >= 0");
  SPROUT_CHECK(s.every >= 0, ConfigError, "--growth.every: ", s.every, " must be >= 0");
  SPROUT_CHECK(s.fraction >= 0, ConfigError, "--growth.fraction: ", s.fraction, " must be >= 0");
  if (s.enabled()) {
    SPROUT_CHECK(c.events.empty(), ConfigError,
                 "growth: give either --growth.event or the compact schedule (--growth.times ...), not both");
    SPROUT_CHECK(s.times == 1 || s.every > 0, ConfigError, "--growth.every: ", s.every,
                 " must be > 0 when growth.times is ", s.times);
    SPROUT_CHECK(s.target.empty() != (s.fraction <= 0), ConfigError,
                 "growth: the compact schedule needs exactly one of --growth.target and --growth.fraction");
  } else {
    SPROUT_CHECK(s.target.empty() && s.fraction == 0 && s.sites.empty(), ConfigError,
                 "growth: --growth.target/--growth.fraction/--growth.sites need --growth.times > 0");
  }
}

}  // namespace sprout::launch
