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

#include "growth/schedule.h"
#include "growth/strategies/strategy.h"
#include "launch/cli/option_binder.h"

namespace sprout::launch {

struct GrowthConfig {
  std::string strategy = "gradmax";  // growth/strategies/strategy.h
  growth::StrategyOptions options;
  int64_t batch = 128;                       // global examples for GradMax's statistics
  std::vector<growth::GrowthEvent> events;   // growth.event
  growth::CompactSchedule compact;           // growth.start/every/times/target/fraction/sites
  bool enabled() const { return !events.empty() || compact.enabled(); }
};

// Declares the options, each bound to its field of `c` (whose values are the defaults); the
// strategies' own settings come from their registry (growth/strategies/strategy.h).
void bind_growth_options(OptionBinder& b, GrowthConfig& c);
// Throws ConfigError naming the option and value.
void validate(const GrowthConfig& c);
OptionTable growth_option_table();
GrowthConfig read_growth_config(const Options& options);  // bind, load, validate

}  // namespace sprout::launch
