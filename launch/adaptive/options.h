// Options of adaptive width (model.adaptive = true; growth/adaptive/adaptive.h,
// growth/README.md "Adaptive width"), read and validated like every TrainConfig part:
// purely, identically on every rank.
#pragma once

#include <cstdint>

#include "growth/adaptive/adaptive.h"
#include "launch/cli/option_binder.h"

namespace sprout::launch {

struct AdaptiveConfig {
  bool enabled = false;         // model.adaptive
  growth::AdaptiveSpec spec;    // model.adaptive_sites, adaptive.q, .rate_floor, .max_width, .new_std
  growth::AdaptivePrior prior;  // adaptive.sigma_theta, .rate_mean, .rate_scale
  int64_t check_every = 1;      // steps between width checks
  double rate_lr = 1.0;         // learning-rate multiplier of the rate parameters
};

// model.adaptive, model.adaptive_sites and the adaptive.* options, appended to `sprout train`'s table.
// Each option bound to its field of `c` (whose values are the defaults).
void bind_adaptive_options(OptionBinder& b, AdaptiveConfig& c);
OptionTable adaptive_option_table();
// Throws ConfigError naming the option and the value. `slimmable` / `growth`: whether the
// run also uses train.mode = slimmable / growth events (neither combines with adaptive width).
void validate(const AdaptiveConfig& c, bool slimmable, bool growth);
AdaptiveConfig read_adaptive_config(const Options& options, bool slimmable, bool growth);  // bind, load, validate

}  // namespace sprout::launch
