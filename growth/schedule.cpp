#include "growth/schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "growth/depth.h"
#include "runtime/error.h"

namespace sprout::growth {

namespace {

bool parse_i64(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  size_t used = 0;
  try {
    out = std::stoll(s, &used);
  } catch (...) {
    return false;
  }
  return used == s.size();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string known(const std::vector<std::string>& sites) {
  std::string s;
  for (const auto& n : sites) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// One item of a "NAME:N,NAME:N" list: the item as written, its name and its number.
struct NamedCount {
  std::string item, name;
  int64_t value = 0;
};

// The items of `text`; a ConfigError naming --`option`, the text and the expected `shape`
// when one is not NAME:integer.
std::vector<NamedCount> parse_named_counts(const std::string& text, const std::string& option,
                                           const std::string& shape) {
  std::vector<NamedCount> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    NamedCount t;
    t.item = trim(item);
    const auto c = t.item.find(':');
    SPROUT_CHECK(c != std::string::npos && parse_i64(trim(t.item.substr(c + 1)), t.value) &&
                     !trim(t.item.substr(0, c)).empty(),
                 ConfigError, "--", option, ": '", text, "' is not a list of ", shape);
    t.name = trim(t.item.substr(0, c));
    out.push_back(t);
  }
  return out;
}

}  // namespace

GrowthEvent parse_event(const std::string& text) {
  GrowthEvent e;
  e.text = trim(text);
  const auto a = e.text.find(':');
  const auto b = a == std::string::npos ? a : e.text.find(':', a + 1);
  SPROUT_CHECK(b != std::string::npos && e.text.find(':', b + 1) == std::string::npos, ConfigError,
               "--growth.event: '", e.text, "' is not STEP:SITE:+K (e.g. 600:fc1:+64), STEP:PLACE:+Kblock (e.g. "
               "600:stage2:+1block) or STEP:LAYER:+Klayer (e.g. 600:fc2:+1layer)");
  e.site = trim(e.text.substr(a + 1, b - a - 1));
  std::string k = trim(e.text.substr(b + 1));
  if (!k.empty() && k[0] == '+') k = k.substr(1);
  for (const std::string unit : {"blocks", "block", "layers", "layer"}) {
    if (k.size() > unit.size() && k.compare(k.size() - unit.size(), unit.size(), unit) == 0) {
      e.depth = true;
      e.unit = unit.back() == 's' ? unit.substr(0, unit.size() - 1) : unit;
      k = trim(k.substr(0, k.size() - unit.size()));
      break;
    }
  }
  SPROUT_CHECK(parse_i64(trim(e.text.substr(0, a)), e.step), ConfigError, "--growth.event: '", e.text,
               "': step is not an integer");
  SPROUT_CHECK(!e.site.empty(), ConfigError, "--growth.event: '", e.text, "': no site");
  SPROUT_CHECK(parse_i64(k, e.add), ConfigError, "--growth.event: '", e.text, "': K is not an integer");
  SPROUT_CHECK(e.add > 0, ConfigError, "--growth.event: '", e.text, "': K must be > 0, got ", e.add);
  SPROUT_CHECK(e.step >= 0, ConfigError, "--growth.event: '", e.text, "': step must be >= 0");
  return e;
}

std::map<std::string, int64_t> parse_targets(const std::string& text) {
  std::map<std::string, int64_t> out;
  for (const auto& t : parse_named_counts(text, "growth.target", "SITE:WIDTH (e.g. fc1:256,fc2:256)")) {
    SPROUT_CHECK(t.value > 0, ConfigError, "--growth.target: '", t.item, "': width must be > 0");
    out[t.name] = t.value;
  }
  return out;
}

std::map<std::string, int64_t> parse_depth_targets(const std::string& text) {
  std::map<std::string, int64_t> out;
  for (const auto& t : parse_named_counts(text, "growth.depth_target", "PLACE:COUNT (e.g. stage2:3,stage3:2 or fc2:1)")) {
    SPROUT_CHECK(t.value >= 0, ConfigError, "--growth.depth_target: '", t.item, "': the count must be >= 0");
    out[t.name] = t.value;
  }
  return out;
}

std::vector<GrowthEvent> expand_depth(const CompactSchedule& s, const std::map<std::string, int64_t>& start_blocks,
                                      const std::string& unit) {
  std::vector<GrowthEvent> events;
  if (!s.enabled()) return events;
  std::vector<std::string> places;
  for (const auto& [place, n] : start_blocks) places.push_back(place);
  for (const auto& [place, target] : s.depth_target) {
    const auto it = start_blocks.find(place);
    SPROUT_CHECK(it != start_blocks.end(), ConfigError, "--growth.depth_target: no place '", place, "' to add ", unit,
                 "s at (this model has: ", places.empty() ? "none" : known(places), ")");
    SPROUT_CHECK(target >= it->second, ConfigError, "--growth.depth_target: ", place, ":", target, " is below the ",
                 it->second, " ", unit, "s there now (depth growth only adds)");
    const int64_t total = target - it->second;
    for (int64_t i = 0; i < s.times; ++i) {
      const int64_t add = total / s.times + (i < total % s.times ? 1 : 0);
      if (add == 0) continue;
      GrowthEvent e;
      e.step = s.start + i * s.every;
      e.site = place;
      e.add = add;
      e.depth = true;
      e.unit = unit;
      e.text = concat(e.step, ":", place, ":+", add, unit);
      events.push_back(e);
    }
  }
  return events;
}

std::vector<GrowthEvent> expand(const CompactSchedule& s, const std::vector<std::pair<std::string, int64_t>>& start) {
  std::vector<GrowthEvent> events;
  if (!s.enabled()) return events;
  std::vector<std::string> names;
  for (const auto& [n, w] : start) names.push_back(n);
  auto has = [&names](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  SPROUT_CHECK(s.start >= 0, ConfigError, "--growth.start: ", s.start, " must be >= 0");
  SPROUT_CHECK(s.times == 1 || s.every > 0, ConfigError, "--growth.every: ", s.every, " must be > 0");
  const bool widths = !s.target.empty() || s.fraction > 0;
  SPROUT_CHECK(!(!s.target.empty() && s.fraction > 0) && (widths || !s.depth_target.empty()), ConfigError,
               "growth: the compact schedule needs exactly one of --growth.target and --growth.fraction (or "
               "--growth.depth_target alone)");
  if (!widths) return events;  // depth only: expand_depth
  for (const auto& [site, w] : s.target) {
    SPROUT_CHECK(has(site), ConfigError, "--growth.target: unknown width site '", site, "' (this model has: ",
                 known(names), ")");
  }
  for (const auto& site : s.sites) {
    SPROUT_CHECK(has(site), ConfigError, "--growth.sites: unknown width site '", site, "' (this model has: ",
                 known(names), ")");
  }
  for (const auto& [site, w0] : start) {
    int64_t total = 0;
    if (!s.target.empty()) {
      auto it = s.target.find(site);
      if (it == s.target.end()) continue;
      SPROUT_CHECK(it->second >= w0, ConfigError, "--growth.target: ", site, ":", it->second,
                   " is below the starting width ", w0, " (the model.* options set the start)");
      total = it->second - w0;
    } else {
      if (!s.sites.empty() && std::find(s.sites.begin(), s.sites.end(), site) == s.sites.end()) continue;
      const int64_t per = static_cast<int64_t>(std::llround(s.fraction * static_cast<double>(w0)));
      SPROUT_CHECK(per > 0, ConfigError, "--growth.fraction: ", s.fraction, " of width ", w0, " at site ", site,
                   " adds no unit");
      total = per * s.times;
    }
    for (int64_t i = 0; i < s.times; ++i) {
      const int64_t add = total / s.times + (i < total % s.times ? 1 : 0);
      if (add == 0) continue;
      GrowthEvent e;
      e.step = s.start + i * s.every;
      e.site = site;
      e.add = add;
      e.text = concat(e.step, ":", site, ":+", add);
      events.push_back(e);
    }
  }
  return events;
}

std::vector<GrowthEvent> validate_events(std::vector<GrowthEvent> events, const std::vector<std::string>& sites,
                                         int64_t total_steps, const std::vector<std::string>& depth_places) {
  for (const auto& e : events) {
    if (e.depth) {
      SPROUT_CHECK(!depth_places.empty(), ConfigError, "--growth.event: '", e.text,
                   "': this model cannot grow in depth (", depth_kinds(), " can)");
      const std::string place = e.site.substr(0, e.site.find('@'));  // "stage2@1": the family checks the position
      SPROUT_CHECK(std::find(depth_places.begin(), depth_places.end(), place) != depth_places.end(), ConfigError,
                   "--growth.event: '", e.text, "': no place '", e.site, "' to add ", e.unit, "s at (this model has: ",
                   known(depth_places), ")");
      SPROUT_CHECK(e.add > 0 && e.add <= 64, ConfigError, "--growth.event: '", e.text, "': the number of ", e.unit,
                   "s must be in [1, 64], got ", e.add);
    }
    SPROUT_CHECK(e.depth || std::find(sites.begin(), sites.end(), e.site) != sites.end(), ConfigError, "--growth.event: '",
                 e.text, "': unknown width site '", e.site, "' (this model has: ", known(sites), ")");
    SPROUT_CHECK(e.add > 0, ConfigError, "--growth.event: '", e.text, "': K must be > 0, got ", e.add);
    SPROUT_CHECK(e.step >= 0 && e.step < total_steps, ConfigError, "--growth.event: '", e.text, "': step ", e.step,
                 " is beyond the run (", total_steps, " steps: 0..", total_steps - 1, ")");
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const GrowthEvent& a, const GrowthEvent& b) { return a.step < b.step; });
  return events;
}

std::map<std::string, int64_t> final_widths(const std::vector<GrowthEvent>& events,
                                            std::map<std::string, int64_t> start) {
  for (const auto& e : events) {
    if (!e.depth) start[e.site] += e.add;
  }
  return start;
}

}  // namespace sprout::growth
