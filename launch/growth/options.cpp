#include "launch/growth/options.h"

#include <algorithm>

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
  b.add_parsed("growth.depth_target", "",
               "compact schedule: blocks (resnet, vit) or inserted layers (mlp, cnn) per place at the end, "
               "PLACE:COUNT,... (e.g. stage2:3; start: the model's)",
               [&s](const std::vector<std::string>& v) { s.depth_target = growth::parse_depth_targets(v.back()); });
  auto& a = c.automatic;
  b.add("growth.auto", &a.enabled, "decide when, where and how much to grow (growth/README.md \"Automatic growth\")");
  b.add("growth.window", &a.plateau.window, "auto: steps per window of the training loss (its mean over the window and the ranks)");
  b.add("growth.patience", &a.plateau.patience, "auto: windows without an improvement that make a plateau");
  b.add("growth.min_delta", &a.plateau.min_delta, "auto: relative decrease of the window loss that counts as an improvement");
  b.add("growth.cooldown", &a.plateau.cooldown, "auto: steps after a growth whose windows do not count");
  b.add("growth.auto_start", &a.plateau.start, "auto: no growth before this step");
  b.add("growth.auto_fraction", &a.fraction, "auto: units added per growth, as a fraction of the group's width (at least 1)");
  b.add("growth.auto_cost", &a.cost, "auto: what a candidate's GradMax bound is divided by: params | macs | none");
  b.add("growth.max_params", &a.max_params, "auto: parameters the model may reach (0: no limit)");
  b.add("growth.max_macs", &a.max_macs, "auto: MACs per example the model may reach (0: no limit)");
  b.add("growth.auto_sites", &a.sites, "auto: the groups that may grow (empty: every inner site and heads group the "
        "strategy accepts)");
  b.add("growth.auto_kinds", &a.kinds, "auto: what may grow: width, depth or both (empty: both where the model can; "
        "depth: resnet and vit)");
}

void validate(const AutoGrowthConfig& a, bool written_schedule) {
  const AutoGrowthConfig defaults;
  if (!a.enabled) {
    const bool set = a.plateau.window != defaults.plateau.window || a.plateau.patience != defaults.plateau.patience ||
                     a.plateau.min_delta != defaults.plateau.min_delta || a.plateau.cooldown != defaults.plateau.cooldown ||
                     a.plateau.start != defaults.plateau.start || a.fraction != defaults.fraction ||
                     a.cost != defaults.cost || a.max_params != defaults.max_params || a.max_macs != defaults.max_macs ||
                     !a.sites.empty() || !a.kinds.empty();
    SPROUT_CHECK(!set, ConfigError, "growth: --growth.window/patience/min_delta/cooldown/auto_start/auto_fraction/"
                 "auto_cost/max_params/max_macs/auto_sites/auto_kinds need --growth.auto true");
    return;
  }
  SPROUT_CHECK(!written_schedule, ConfigError,
               "--growth.auto: true decides the growth itself; give it without --growth.event or the compact schedule "
               "(--growth.times ...)");
  const auto& p = a.plateau;
  SPROUT_CHECK(p.window > 0, ConfigError, "--growth.window: ", p.window, " must be > 0");
  SPROUT_CHECK(p.patience >= 0, ConfigError, "--growth.patience: ", p.patience, " must be >= 0");
  SPROUT_CHECK(p.min_delta >= 0 && p.min_delta < 1, ConfigError, "--growth.min_delta: ", p.min_delta,
               " must be in [0, 1)");
  SPROUT_CHECK(p.cooldown >= 0, ConfigError, "--growth.cooldown: ", p.cooldown, " must be >= 0");
  SPROUT_CHECK(p.start >= 0, ConfigError, "--growth.auto_start: ", p.start, " must be >= 0");
  SPROUT_CHECK(a.fraction > 0 && a.fraction <= 1, ConfigError, "--growth.auto_fraction: ", a.fraction,
               " must be in (0, 1]");
  growth::parse_cost_measure(a.cost);  // names growth.auto_cost
  SPROUT_CHECK(a.max_params >= 0, ConfigError, "--growth.max_params: ", a.max_params, " must be >= 0");
  SPROUT_CHECK(a.max_macs >= 0, ConfigError, "--growth.max_macs: ", a.max_macs, " must be >= 0");
  for (const auto& kind : a.kinds) {
    SPROUT_CHECK(kind == "width" || kind == "depth", ConfigError, "--growth.auto_kinds: '", kind,
                 "' is not one of width | depth");
  }
  const bool width = a.kinds.empty() || std::find(a.kinds.begin(), a.kinds.end(), "width") != a.kinds.end();
  SPROUT_CHECK(width || a.sites.empty(), ConfigError, "--growth.auto_sites: names width groups, but --growth.auto_kinds "
               "is depth only");
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
  validate(c.automatic, c.enabled());
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
    const bool widths = !s.target.empty() || s.fraction > 0;
    SPROUT_CHECK(!(!s.target.empty() && s.fraction > 0) && (widths || !s.depth_target.empty()), ConfigError,
                 "growth: the compact schedule needs exactly one of --growth.target and --growth.fraction (or "
                 "--growth.depth_target alone)");
  } else {
    SPROUT_CHECK(s.target.empty() && s.fraction == 0 && s.sites.empty() && s.depth_target.empty(), ConfigError,
                 "growth: --growth.target/--growth.fraction/--growth.sites/--growth.depth_target need --growth.times > 0");
  }
}

}  // namespace sprout::launch
