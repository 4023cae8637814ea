// Options of width growth during `sprout train` (the [growth] section).
//
// The starting widths are the model.* options' (model.widths, model.conv, ...); a schedule grows them:
//   growth.event = STEP:SITE:+K            (repeatable)  e.g. 600:fc1:+64
// or the compact form (GradMax paper):
//   growth.start, growth.every, growth.times, and either growth.target = SITE:WIDTH,...
//   (the widths the run ends at) or growth.fraction (+ growth.sites).
// Reading checks syntax and numbers (pure, the same on every rank); sites and steps are
// checked against the model and the run length when the trainer is prepared
// (launch/growth/driver.h). Every error names the option and the value (exit status 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "growth/auto_growth.h"
#include "growth/schedule.h"
#include "growth/strategies/strategy.h"
#include "launch/cli/option_binder.h"

namespace sprout::launch {

// growth.auto = true: the run decides when, where and how much to grow (growth/auto_growth.h,
// launch/growth/auto_driver.h); exclusive with a written schedule.
struct AutoGrowthConfig {
  bool enabled = false;
  growth::PlateauSettings plateau;  // growth.window, patience, min_delta, cooldown, auto_start
  double fraction = 0.25;           // growth.auto_fraction: units added, × the group's width
  std::string cost = "params";      // growth.auto_cost: params | macs | none
  int64_t max_params = 0;           // growth.max_params: total parameters (0: no limit)
  int64_t max_macs = 0;             // growth.max_macs: MACs per example (0: no limit)
  std::vector<std::string> sites;   // growth.auto_sites: candidate groups (empty: every one it can)
  std::vector<std::string> kinds;   // growth.auto_kinds: width, depth (empty: both where the model can)
};

struct GrowthConfig {
  std::string strategy = "gradmax";  // growth/strategies/strategy.h
  growth::StrategyOptions options;
  int64_t batch = 128;                       // global examples for GradMax's statistics
  std::vector<growth::GrowthEvent> events;   // growth.event
  growth::CompactSchedule compact;           // growth.start/every/times/target/fraction/sites
  AutoGrowthConfig automatic;                // growth.auto and its options
  // A written schedule (events or the compact form); automatic growth is not one.
  bool enabled() const { return !events.empty() || compact.enabled(); }
};

// Declares the options, each bound to its field of `c` (whose values are the defaults); the
// strategies' own settings come from their registry (growth/strategies/strategy.h).
void bind_growth_options(OptionBinder& b, GrowthConfig& c);
// Throws ConfigError naming the option and value.
void validate(const GrowthConfig& c);
// growth.auto's options (each named with its value when wrong); `written_schedule`: the
// run also has growth.event or the compact schedule. Its options without growth.auto are
// refused too (they would do nothing). The checks that need the model (growth.max_params
// below the model, unknown growth.auto_sites) are the driver's (launch/growth/auto_driver.h).
void validate(const AutoGrowthConfig& a, bool written_schedule);
OptionTable growth_option_table();
GrowthConfig read_growth_config(const Options& options);  // bind, load, validate

}  // namespace sprout::launch
