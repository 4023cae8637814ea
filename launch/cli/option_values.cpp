// The one parser of option values (numbers, booleans, lists), the default texts, and the
// "did you mean" hint for unknown names (launch/cli/options.h).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "launch/cli/options.h"
#include "runtime/error.h"

namespace sprout::launch {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

namespace {

ConfigError not_a(const std::string& name, const std::string& text, const std::string& what) {
  return ConfigError(concat("--", name, ": '", text, "' is not ", what));
}

// Levenshtein distance with adjacent transpositions (optimal string alignment).
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<int64_t> to_int(const std::string& text) {
  const std::string t = trim(text);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<double> to_number(const std::string& text) {
  const std::string t = trim(text);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (errno == ERANGE || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> to_bool(const std::string& text) {
  const std::string v = trim(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

std::optional<std::vector<std::string>> to_list(const std::string& text) {
  std::vector<std::string> out;
  if (trim(text).empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (item.empty()) return std::nullopt;
    out.push_back(item);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

int64_t parse_int(const std::string& name, const std::string& text) {
  if (auto v = to_int(text)) return *v;
  throw not_a(name, trim(text), "an integer");
}

double parse_number(const std::string& name, const std::string& text) {
  if (auto v = to_number(text)) return *v;
  throw not_a(name, trim(text), "a finite number");
}

bool parse_bool(const std::string& name, const std::string& text) {
  if (auto v = to_bool(text)) return *v;
  throw not_a(name, trim(text), "a boolean (true/false)");
}

std::vector<std::string> parse_list(const std::string& name, const std::string& text) {
  if (auto v = to_list(text)) return *v;
  throw ConfigError(concat("--", name, ": '", trim(text), "' has an empty list item"));
}

std::vector<int64_t> parse_int_list(const std::string& name, const std::string& text) {
  std::vector<int64_t> out;
  for (const auto& item : parse_list(name, text)) {
    const auto v = to_int(item);
    if (!v) throw not_a(name, trim(text), "a comma-separated list of integers");
    out.push_back(*v);
  }
  return out;
}

std::vector<double> parse_number_list(const std::string& name, const std::string& text) {
  std::vector<double> out;
  for (const auto& item : parse_list(name, text)) {
    const auto v = to_number(item);
    if (!v) throw not_a(name, trim(text), "a comma-separated list of numbers");
    out.push_back(*v);
  }
  return out;
}

std::string format_number(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {  // 300, not 3e+02
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

ConfigError option_error(const runtime::SettingError& e, const std::map<std::string, std::string>& option_of) {
  auto name_of = [&](const std::string& field) {
    auto it = option_of.find(field);
    return it == option_of.end() ? field : "--" + it->second;
  };
  return ConfigError(concat(name_of(e.setting()), ": ", runtime::SettingError::spelled(e.detail(), name_of)));
}

std::string did_you_mean(const std::string& unknown, const OptionTable& table, const std::string& dashes) {
  std::vector<std::string> near;
  for (const auto& o : table) {
    if (o.name.rfind(unknown, 0) == 0) near.push_back(o.name);  // an abbreviation
  }
  if (near.empty()) {
    size_t best = std::max<size_t>(2, unknown.size() / 4) + 1;
    for (const auto& o : table) {
      const size_t d = edit_distance(unknown, o.name);
      if (d < best) best = d, near.clear();
      if (d == best) near.push_back(o.name);
    }
  }
  if (near.empty()) return "";
  std::sort(near.begin(), near.end());
  if (near.size() > 3) near.resize(3);
  std::string text = " (did you mean ";
  for (size_t i = 0; i < near.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == near.size() ? " or " : ", ") + dashes + near[i];
  }
  return text + "?)";
}

}  // namespace sprout::launch
