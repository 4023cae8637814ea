#include "launch/slimmable/options.h"

#include <cmath>

#include "runtime/error.h"

namespace sprout::launch {

OptionTable slimmable_option_table() {
  return {
      {"train.mode", "standard", "standard | slimmable (DS-Net supernet + dynamic gate)"},
      {"slim.ratios", "0.25,0.5,0.75,1", "slimmable: width ratios, ascending, ending at 1"},
      {"slim.random", "2", "slimmable: random widths per step besides the largest and smallest (sandwich rule)"},
      {"slim.distill", "bootstrap", "slimmable: bootstrap (EMA teacher) | inplace (live largest) | none"},
      {"slim.ensemble", "false", "slimmable: the smallest learns the mean of the EMA sub-networks (bootstrap)"},
      {"slim.ema_decay", "0.997", "slimmable: decay of the EMA teacher per step"},
      {"slim.ema_warmup", "true", "slimmable: EMA decay warm-up min(decay, (1+n)/(10+n)) for short runs"},
      {"slim.attention", "true", "slimmable: the gate's squeeze-excitation attention on the first site"},
      {"slim.se_ratio", "0.25", "slimmable: gate reduction width as a fraction of the first site's width"},
      {"slim.gate_steps", "0", "slimmable: gate-training steps after the supernet (0: no dynamic gate)"},
      {"slim.gate_lr", "0.05", "slimmable: gate learning rate (cosine schedule)"},
      {"slim.gate_tau", "1", "slimmable: Gumbel-softmax temperature of the gate"},
      {"slim.gate_macs_weight", "0.1", "slimmable: weight of the squared MACs fraction in the gate loss"},
  };
}

namespace {

template <typename T>
void require(bool ok, const std::string& option, const T& value, const std::string& what) {
  SPROUT_CHECK(ok, ConfigError, "--", option, ": ", value, " ", what);
}

}  // namespace

SlimConfig read_slim_config(const Options& o) {
  SlimConfig c;
  const std::string mode = o.get("train.mode");
  require(mode == "standard" || mode == "slimmable", "train.mode", "'" + mode + "'",
          "is not a training mode (standard, slimmable)");
  c.enabled = mode == "slimmable";
  c.spec.ratios = o.get_double_list("slim.ratios");
  growth::validate_ratios(c.spec.ratios, "slim.ratios");
  c.spec.attention = o.get_bool("slim.attention");
  c.spec.se_ratio = o.get_double("slim.se_ratio");
  require(c.spec.se_ratio > 0 && c.spec.se_ratio <= 1, "slim.se_ratio", c.spec.se_ratio, "must be in (0, 1]");
  c.random = o.get_int("slim.random");
  require(c.random >= 0 && c.random <= 64, "slim.random", c.random, "must be in [0, 64]");
  c.distill = o.get("slim.distill");
  require(c.distill == "bootstrap" || c.distill == "inplace" || c.distill == "none", "slim.distill",
          "'" + c.distill + "'", "is not one of bootstrap, inplace, none");
  c.ensemble = o.get_bool("slim.ensemble");
  require(!c.ensemble || c.distill == "bootstrap", "slim.ensemble", "true",
          "needs slim.distill = bootstrap (the ensemble is of EMA sub-networks)");
  c.ema_decay = o.get_double("slim.ema_decay");
  require(c.ema_decay >= 0 && c.ema_decay < 1, "slim.ema_decay", c.ema_decay, "must be in [0, 1)");
  c.ema_warmup = o.get_bool("slim.ema_warmup");
  c.gate_steps = o.get_int("slim.gate_steps");
  require(c.gate_steps >= 0, "slim.gate_steps", c.gate_steps, "must be >= 0");
  c.gate_lr = o.get_double("slim.gate_lr");
  require(c.gate_lr > 0 && std::isfinite(c.gate_lr), "slim.gate_lr", c.gate_lr, "must be > 0");
  c.gate_tau = o.get_double("slim.gate_tau");
  require(c.gate_tau > 0 && std::isfinite(c.gate_tau), "slim.gate_tau", c.gate_tau, "must be > 0");
  c.gate_macs_weight = o.get_double("slim.gate_macs_weight");
  require(c.gate_macs_weight >= 0 && std::isfinite(c.gate_macs_weight), "slim.gate_macs_weight",
          c.gate_macs_weight, "must be >= 0");
  return c;
}

}  // namespace sprout::launch
