// Options of `train.mode = slimmable` (DS-Net supernet training and its dynamic gate),
// read and validated like every TrainConfig part: purely, identically on every rank.
#pragma once

#include <cstdint>
#include <string>

#include "growth/slimmable/slimmable.h"
#include "launch/cli/option_binder.h"

namespace sprout::launch {

struct SlimConfig {
  bool enabled = false;                // train.mode == slimmable
  growth::SlimSpec spec;               // slim.ratios, slim.attention, slim.se_ratio
  int64_t random = 2;                  // random widths per step besides the largest and smallest
  std::string distill = "bootstrap";   // bootstrap (EMA teacher) | inplace (live largest) | none (labels)
  bool ensemble = false;               // bootstrap: the smallest learns the EMA sub-networks' mean
  double ema_decay = 0.997;            // EMA teacher decay per step
  bool ema_warmup = true;              // decay min(ema_decay, (1+n)/(10+n)) at the n-th update
  int64_t gate_steps = 0;              // gate-stage steps after the supernet steps (0: no gate)
  double gate_lr = 0.05;               // gate-stage learning rate (cosine to 0)
  double gate_tau = 1.0;               // Gumbel-softmax temperature
  double gate_macs_weight = 0.1;       // weight of (mean MACs / largest MACs)² in the gate loss
};

// train.mode and the slim.* options, each bound to its field of `c` (whose values are the defaults).
void bind_slim_options(OptionBinder& b, SlimConfig& c);
void validate(const SlimConfig& c);  // ConfigError naming the option and the value
OptionTable slimmable_option_table();
// Throws ConfigError naming the option and the value.
SlimConfig read_slim_config(const Options& options);

}  // namespace sprout::launch
