#include "launch/slimmable/options.h"

#include <cmath>

#include "runtime/error.h"

namespace sprout::launch {

void bind_slim_options(OptionBinder& b, SlimConfig& c) {
  b.add_parsed("train.mode", c.enabled ? "slimmable" : "standard",
               "standard | slimmable (DS-Net supernet + dynamic gate)", [&c](const std::vector<std::string>& v) {
                 const std::string mode = v.back();
                 SPROUT_CHECK(mode == "standard" || mode == "slimmable", ConfigError, "--train.mode: '", mode,
                              "' is not a training mode (standard, slimmable)");
                 c.enabled = mode == "slimmable";
               });
  b.add("slim.ratios", &c.spec.ratios, "slimmable: width ratios, ascending, ending at 1");
  b.add("slim.random", &c.random, "slimmable: random widths per step besides the largest and smallest (sandwich rule)");
  b.add("slim.distill", &c.distill, "slimmable: bootstrap (EMA teacher) | inplace (live largest) | none");
  b.add("slim.ensemble", &c.ensemble, "slimmable: the smallest learns the mean of the EMA sub-networks (bootstrap)");
  b.add("slim.ema_decay", &c.ema_decay, "slimmable: decay of the EMA teacher per step");
  b.add("slim.ema_warmup", &c.ema_warmup, "slimmable: EMA decay warm-up min(decay, (1+n)/(10+n)) for short runs");
  b.add("slim.attention", &c.spec.attention, "slimmable: the gate's squeeze-excitation attention on the first site");
  b.add("slim.se_ratio", &c.spec.se_ratio, "slimmable: gate reduction width as a fraction of the first site's width");
  b.add("slim.gate_steps", &c.gate_steps, "slimmable: gate-training steps after the supernet (0: no dynamic gate)");
  b.add("slim.gate_lr", &c.gate_lr, "slimmable: gate learning rate (cosine schedule)");
  b.add("slim.gate_tau", &c.gate_tau, "slimmable: Gumbel-softmax temperature of the gate");
  b.add("slim.gate_macs_weight", &c.gate_macs_weight, "slimmable: weight of the squared MACs fraction in the gate loss");
}

OptionTable slimmable_option_table() { return table_of(bind_slim_options); }

namespace {

template <typename T>
void require(bool ok, const std::string& option, const T& value, const std::string& what) {
  SPROUT_CHECK(ok, ConfigError, "--", option, ": ", value, " ", what);
}

}  // namespace

void validate(const SlimConfig& c) {
  growth::validate_ratios(c.spec.ratios, "slim.ratios");
  require(c.spec.se_ratio > 0 && c.spec.se_ratio <= 1, "slim.se_ratio", c.spec.se_ratio, "must be in (0, 1]");
  require(c.random >= 0 && c.random <= 64, "slim.random", c.random, "must be in [0, 64]");
  require(c.distill == "bootstrap" || c.distill == "inplace" || c.distill == "none", "slim.distill",
          "'" + c.distill + "'", "is not one of bootstrap, inplace, none");
  require(!c.ensemble || c.distill == "bootstrap", "slim.ensemble", "true",
          "needs slim.distill = bootstrap (the ensemble is of EMA sub-networks)");
  require(c.ema_decay >= 0 && c.ema_decay < 1, "slim.ema_decay", c.ema_decay, "must be in [0, 1)");
  require(c.gate_steps >= 0, "slim.gate_steps", c.gate_steps, "must be >= 0");
  require(c.gate_lr > 0 && std::isfinite(c.gate_lr), "slim.gate_lr", c.gate_lr, "must be > 0");
  require(c.gate_tau > 0 && std::isfinite(c.gate_tau), "slim.gate_tau", c.gate_tau, "must be > 0");
  require(c.gate_macs_weight >= 0 && std::isfinite(c.gate_macs_weight), "slim.gate_macs_weight",
          c.gate_macs_weight, "must be >= 0");
}

SlimConfig read_slim_config(const Options& o) {
  SlimConfig c = load_bound(o, bind_slim_options);
  validate(c);
  return c;
}

}  // namespace sprout::launch
