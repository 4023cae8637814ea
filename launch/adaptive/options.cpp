#include "launch/adaptive/options.h"

#include <cmath>

#include "runtime/error.h"

namespace sprout::launch {

OptionTable adaptive_option_table() {
  return {
      {"model.adaptive", "false", "adaptive width: every site learns its width (Errica et al. 2025)"},
      {"model.adaptive_sites", "", "adaptive width: the sites that adapt, e.g. fc1,fc2 (empty: all)"},
      {"adaptive.q", "0.9", "adaptive: quantile of the importance distribution kept as the width"},
      {"adaptive.rate_floor", "0.001", "adaptive: lower bound of each rate lambda"},
      {"adaptive.max_width", "1024", "adaptive: the most units a site may grow to"},
      {"adaptive.new_std", "1", "adaptive: std of the normal init of appended units (fan-in, bias, fan-out)"},
      {"adaptive.sigma_theta", "10", "adaptive: std of the Gaussian prior on the weights"},
      {"adaptive.rate_mean", "0.01", "adaptive: mean of the Gaussian prior on each rate"},
      {"adaptive.rate_scale", "0.01", "adaptive: std of the Gaussian prior on each rate"},
      {"adaptive.check_every", "1", "adaptive: steps between width checks (surgery only when a width changes)"},
      {"adaptive.rate_lr", "1", "adaptive: learning-rate multiplier of the rate parameters"},
  };
}

namespace {

template <typename T>
void require(bool ok, const std::string& option, const T& value, const std::string& what) {
  SPROUT_CHECK(ok, ConfigError, "--", option, ": ", value, " ", what);
}

}  // namespace

AdaptiveConfig read_adaptive_config(const Options& o, bool slimmable, bool growth) {
  AdaptiveConfig c;
  c.enabled = o.get_bool("model.adaptive");
  std::string sites = o.get("model.adaptive_sites");
  size_t start = 0;
  while (start < sites.size()) {
    const size_t comma = sites.find(',', start);
    const std::string s = sites.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    require(!s.empty(), "model.adaptive_sites", "'" + sites + "'", "has an empty site name");
    c.spec.sites.push_back(s);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  c.spec.q = o.get_double("adaptive.q");
  require(c.spec.q > 0 && c.spec.q < 1, "adaptive.q", c.spec.q, "must be in (0, 1)");
  c.spec.rate_floor = o.get_double("adaptive.rate_floor");
  require(c.spec.rate_floor > 0 && std::isfinite(c.spec.rate_floor), "adaptive.rate_floor", c.spec.rate_floor,
          "must be > 0");
  c.spec.max_width = o.get_int("adaptive.max_width");
  require(c.spec.max_width >= 2 && c.spec.max_width <= (int64_t{1} << 20), "adaptive.max_width", c.spec.max_width,
          "must be in [2, 1048576]");
  c.spec.new_std = o.get_double("adaptive.new_std");
  require(c.spec.new_std >= 0 && std::isfinite(c.spec.new_std), "adaptive.new_std", c.spec.new_std, "must be >= 0");
  c.prior.sigma_theta = o.get_double("adaptive.sigma_theta");
  require(c.prior.sigma_theta > 0 && std::isfinite(c.prior.sigma_theta), "adaptive.sigma_theta",
          c.prior.sigma_theta, "must be > 0");
  c.prior.rate_mean = o.get_double("adaptive.rate_mean");
  require(c.prior.rate_mean >= 0 && std::isfinite(c.prior.rate_mean), "adaptive.rate_mean", c.prior.rate_mean,
          "must be >= 0");
  c.prior.rate_scale = o.get_double("adaptive.rate_scale");
  require(c.prior.rate_scale > 0 && std::isfinite(c.prior.rate_scale), "adaptive.rate_scale", c.prior.rate_scale,
          "must be > 0");
  c.check_every = o.get_int("adaptive.check_every");
  require(c.check_every > 0, "adaptive.check_every", c.check_every, "must be > 0");
  c.rate_lr = o.get_double("adaptive.rate_lr");
  require(c.rate_lr > 0 && std::isfinite(c.rate_lr), "adaptive.rate_lr", c.rate_lr, "must be > 0");
  if (c.enabled) {
    require(!slimmable, "model.adaptive", "true", "cannot be combined with train.mode = slimmable");
    require(!growth, "model.adaptive", "true", "cannot be combined with growth events (growth.event / growth.start)");
  } else {
    require(c.spec.sites.empty(), "model.adaptive_sites", "'" + sites + "'", "needs model.adaptive = true");
  }
  return c;
}

}  // namespace sprout::launch
