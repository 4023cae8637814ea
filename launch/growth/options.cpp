#include "launch/growth/options.h"

#include "runtime/error.h"

namespace sprout::launch {

OptionTable growth_option_table() {
  return {
      {"growth.strategy", "gradmax", "how new units start: gradmax | random | zeros | net2net | vt"},
      {"growth.scale", "0.5", "gradmax/random: norm of each new fan-out column (see growth.scale_mode)"},
      {"growth.scale_mode", "mean_norm", "fixed (c = scale) | mean_norm (c = scale x mean norm of existing fan-outs)"},
      {"growth.noise", "0", "net2net: noise on copied fan-in rows, relative to the producer's weight std"},
      {"growth.batch", "128", "gradmax: global examples (split over ranks) for the growth statistics"},
      {"growth.event", "", "STEP:SITE:+K, grow SITE by K units before step STEP, e.g. 600:fc1:+64", true},
      {"growth.start", "0", "compact schedule: step of the first growth"},
      {"growth.every", "0", "compact schedule: steps between growths"},
      {"growth.times", "0", "compact schedule: number of growths (0: off)"},
      {"growth.target", "", "compact schedule: final widths, SITE:WIDTH,... (start: model.widths/model.conv)"},
      {"growth.fraction", "0", "compact schedule: units added per growth as a fraction of the start width"},
      {"growth.sites", "", "compact schedule with fraction: sites that grow (empty: all)"},
  };
}

GrowthConfig read_growth_config(const Options& o) {
  GrowthConfig c;
  c.strategy = o.get("growth.strategy");
  growth::make_strategy(c.strategy);  // throws ConfigError listing the known names
  c.options.scale = o.get_double("growth.scale");
  c.options.scale_mode = o.get("growth.scale_mode");
  c.options.noise = o.get_double("growth.noise");
  growth::validate(c.options);
  c.batch = o.get_int("growth.batch");
  SPROUT_CHECK(c.batch > 0, ConfigError, "--growth.batch: ", c.batch, " must be > 0");
  for (const auto& text : o.get_all("growth.event")) c.events.push_back(growth::parse_event(text));

  auto& s = c.compact;
  s.start = o.get_int("growth.start");
  s.every = o.get_int("growth.every");
  s.times = o.get_int("growth.times");
  SPROUT_CHECK(s.times >= 0, ConfigError, "--growth.times: ", s.times, " must be >= 0");
  SPROUT_CHECK(s.start >= 0, ConfigError, "--growth.start: ", s.start, " must be >= 0");
  SPROUT_CHECK(s.every >= 0, ConfigError, "--growth.every: ", s.every, " must be >= 0");
  s.target = growth::parse_targets(o.get("growth.target"));
  s.fraction = o.get_double("growth.fraction");
  SPROUT_CHECK(s.fraction >= 0, ConfigError, "--growth.fraction: ", s.fraction, " must be >= 0");
  if (!o.get("growth.sites").empty()) s.sites = o.get_string_list("growth.sites");
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
  return c;
}

}  // namespace sprout::launch
