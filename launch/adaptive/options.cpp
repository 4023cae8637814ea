#include "launch/adaptive/options.h"

#include <cmath>

#include "runtime/error.h"

namespace sprout::launch {

void bind_adaptive_options(OptionBinder& b, AdaptiveConfig& c) {
  b.add("model.adaptive", &c.enabled, "adaptive width: every site learns its width (Errica et al. 2025)");
  b.add_parsed("model.adaptive_sites", "",
               "adaptive width: the sites that adapt, e.g. fc1,fc2 or a ResNet stage2 (empty: every inner site)",
               [&c](const std::vector<std::string>& v) {
                 const auto sites = to_list(v.back());
                 SPROUT_CHECK(sites, ConfigError, "--model.adaptive_sites: '", v.back(), "' has an empty site name");
                 c.spec.sites = *sites;
               });
  b.add("adaptive.q", &c.spec.q, "adaptive: quantile of the importance distribution kept as the width");
  b.add("adaptive.rate_floor", &c.spec.rate_floor, "adaptive: lower bound of each rate lambda");
  b.add("adaptive.max_width", &c.spec.max_width, "adaptive: the most units a site may grow to");
  b.add("adaptive.new_std", &c.spec.new_std, "adaptive: std of the normal init of appended units (fan-in, bias, fan-out)");
  b.add("adaptive.sigma_theta", &c.prior.sigma_theta, "adaptive: std of the Gaussian prior on the weights");
  b.add("adaptive.rate_mean", &c.prior.rate_mean, "adaptive: mean of the Gaussian prior on each rate");
  b.add("adaptive.rate_scale", &c.prior.rate_scale, "adaptive: std of the Gaussian prior on each rate");
  b.add("adaptive.check_every", &c.check_every,
        "adaptive: steps between width checks (surgery only when a width changes)");
  b.add("adaptive.rate_lr", &c.rate_lr, "adaptive: learning-rate multiplier of the rate parameters");
}

OptionTable adaptive_option_table() { return table_of(bind_adaptive_options); }

namespace {

template <typename T>
void require(bool ok, const std::string& option, const T& value, const std::string& what) {
  SPROUT_CHECK(ok, ConfigError, "--", option, ": ", value, " ", what);
}

std::string join_sites(const std::vector<std::string>& sites) {
  std::string out;
  for (const auto& s : sites) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

void validate(const AdaptiveConfig& c, bool slimmable, bool growth) {
  require(c.spec.q > 0 && c.spec.q < 1, "adaptive.q", c.spec.q, "must be in (0, 1)");
  require(c.spec.rate_floor > 0 && std::isfinite(c.spec.rate_floor), "adaptive.rate_floor", c.spec.rate_floor,
          "must be > 0");
  require(c.spec.max_width >= 2 && c.spec.max_width <= (int64_t{1} << 20), "adaptive.max_width", c.spec.max_width,
          "must be in [2, 1048576]");
  require(c.spec.new_std >= 0 && std::isfinite(c.spec.new_std), "adaptive.new_std", c.spec.new_std, "must be >= 0");
  require(c.prior.sigma_theta > 0 && std::isfinite(c.prior.sigma_theta), "adaptive.sigma_theta",
          c.prior.sigma_theta, "must be > 0");
  require(c.prior.rate_mean >= 0 && std::isfinite(c.prior.rate_mean), "adaptive.rate_mean", c.prior.rate_mean,
          "must be >= 0");
  require(c.prior.rate_scale > 0 && std::isfinite(c.prior.rate_scale), "adaptive.rate_scale", c.prior.rate_scale,
          "must be > 0");
  require(c.check_every > 0, "adaptive.check_every", c.check_every, "must be > 0");
  require(c.rate_lr > 0 && std::isfinite(c.rate_lr), "adaptive.rate_lr", c.rate_lr, "must be > 0");
  if (c.enabled) {
    require(!slimmable, "model.adaptive", "true", "cannot be combined with train.mode = slimmable");
    require(!growth, "model.adaptive", "true", "cannot be combined with growth events (growth.event / growth.start)");
  } else {
    require(c.spec.sites.empty(), "model.adaptive_sites", "'" + join_sites(c.spec.sites) + "'",
            "needs model.adaptive = true");
  }
}

AdaptiveConfig read_adaptive_config(const Options& o, bool slimmable, bool growth) {
  AdaptiveConfig c = load_bound(o, bind_adaptive_options);
  validate(c, slimmable, growth);
  return c;
}

}  // namespace sprout::launch
