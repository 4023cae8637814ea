#include "launch/adaptive/eval.h"

#include "launch/cli/options.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "growth/adaptive/adaptive.h"
#include "launch/cli/options.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

Truncation at_fraction(double f, const std::string& label, const growth::Model& model) {
  Truncation t;
  t.label = label;
  for (const auto& site : growth::adaptive_sites(model)) {
    const int64_t w = model.site(site).width;
    t.active[site] = std::max<int64_t>(1, std::min<int64_t>(w, std::llround(f * static_cast<double>(w))));
  }
  return t;
}

}  // namespace

std::vector<Truncation> parse_truncation(const std::string& spec, const growth::Model& model) {
  SPROUT_CHECK(!growth::adaptive_sites(model).empty(), ConfigError, "--truncate: '", spec,
               "' needs an adaptive-width checkpoint (model.adaptive = true)");
  std::vector<Truncation> out;
  if (spec == "all") {
    for (double f : {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}) {
      std::ostringstream label;
      label << f;
      out.push_back(at_fraction(f, label.str(), model));
    }
    return out;
  }
  const auto parsed = to_number(spec);  // launch/cli/options.h
  const bool number = parsed.has_value();
  const double v = parsed.value_or(0);
  if (number && spec.find_first_of(".eE") != std::string::npos) {
    SPROUT_CHECK(v > 0 && v <= 1, ConfigError, "--truncate: '", spec, "' is a fraction outside (0, 1]");
    out.push_back(at_fraction(v, spec, model));
    return out;
  }
  SPROUT_CHECK(number && v >= 1 && v == std::floor(v), ConfigError, "--truncate: '", spec,
               "' is not all, a unit count >= 1 nor a fraction in (0, 1] (written with a '.')");
  Truncation t;
  t.label = spec;
  for (const auto& site : growth::adaptive_sites(model)) {
    t.active[site] = std::min<int64_t>(model.site(site).width, static_cast<int64_t>(v));
  }
  out.push_back(t);
  return out;
}

}  // namespace sprout::launch
