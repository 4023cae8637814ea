#include "growth/models/arch.h"

#include <algorithm>
#include <sstream>

#include "growth/models/family.h"
#include "growth/models/memory_estimate.h"
#include "runtime/error.h"

namespace sprout::growth {

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int64_t> out;
  if (text.empty()) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    const std::string t = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(t, &used);
    } catch (...) {
      used = 0;
    }
    SPROUT_CHECK(!t.empty() && used == t.size(), ConfigError, option, ": '", text,
                 "' is not a comma-separated list of integers");
    out.push_back(v);
  }
  return out;
}

std::string join_ints(const std::vector<int64_t>& values, const char* sep) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) s += (i ? sep : "") + std::to_string(values[i]);
  return s;
}

namespace {

const std::string& param(const ArchSpec& s, const std::string& key) {
  auto it = s.params.find(key);
  SPROUT_CHECK(it != s.params.end(), ConfigError, "model.", key, ": not set for model.kind ", s.kind);
  return it->second;
}

void check_completed(const ArchSpec& s);

// `text` in the setting's canonical form ("256, 256" -> "256,256", "1" -> "true").
std::string canonical(const FamilySetting& setting, const std::string& text) {
  const std::string option = "model." + setting.key;
  switch (setting.type) {
    case FamilySetting::Type::Ints:
      return join_ints(parse_int_list(text, option));
    case FamilySetting::Type::Integer: {
      const auto v = parse_int_list(text, option);
      SPROUT_CHECK(v.size() == 1, ConfigError, option, ": '", text, "' is not one integer");
      return std::to_string(v[0]);
    }
    case FamilySetting::Type::Flag:
      if (text == "1" || text == "true") return "true";
      if (text == "0" || text == "false") return "false";
      throw ConfigError(concat(option, ": '", text, "' is not a boolean (true, false)"));
  }
  return text;
}

}  // namespace

std::vector<int64_t> ArchSpec::ints(const std::string& key) const { return parse_int_list(param(*this, key), "model." + key); }

int64_t ArchSpec::integer(const std::string& key) const {
  const auto values = ints(key);
  SPROUT_CHECK(values.size() == 1, ConfigError, "model.", key, ": '", param(*this, key), "' is not one integer");
  return values[0];
}

bool ArchSpec::flag(const std::string& key) const {
  const std::string& v = param(*this, key);
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  throw ConfigError(concat("model.", key, ": '", v, "' is not a boolean (true, false)"));
}

void ArchSpec::set_ints(const std::string& key, const std::vector<int64_t>& values) { params[key] = join_ints(values); }
void ArchSpec::set_integer(const std::string& key, int64_t value) { params[key] = std::to_string(value); }
void ArchSpec::set_flag(const std::string& key, bool value) { params[key] = value ? "true" : "false"; }

std::string ArchSpec::describe() const {
  try {
    const ArchSpec c = complete(*this);
    return model_family(c.kind).describe(c);
  } catch (const ConfigError&) {
    return serialize();  // an invalid spec is described by its text
  }
}

std::string ArchSpec::serialize() const {
  std::string s = concat("kind=", kind, ";in=", in_channels, "x", in_height, "x", in_width, ";classes=", classes);
  for (const auto& [key, value] : params) s += concat(";", key, "=", value);
  return s;
}

ArchSpec ArchSpec::parse(const std::string& text) {
  ArchSpec s;
  std::stringstream ss(text);
  std::string field;
  bool saw_kind = false;
  while (std::getline(ss, field, ';')) {
    const auto eq = field.find('=');
    SPROUT_CHECK(eq != std::string::npos, ConfigError, "architecture '", text, "': malformed field '", field, "'");
    const std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "kind") {
      s.kind = value;
      saw_kind = true;
    } else if (key == "in") {
      std::string csv = value;  // "1x28x28" -> "1,28,28"
      std::replace(csv.begin(), csv.end(), 'x', ',');
      auto dims = parse_int_list(csv, "architecture in");
      SPROUT_CHECK(dims.size() == 3, ConfigError, "architecture '", text, "': 'in' needs CxHxW");
      s.in_channels = dims[0];
      s.in_height = dims[1];
      s.in_width = dims[2];
    } else if (key == "classes") {
      const auto v = parse_int_list(value, "architecture classes");
      SPROUT_CHECK(v.size() == 1, ConfigError, "architecture '", text, "': 'classes' needs one integer");
      s.classes = v[0];
    } else {
      SPROUT_CHECK(!key.empty() && !s.params.count(key), ConfigError, "architecture '", text, "': field '", key,
                   "' empty or repeated");
      s.params[key] = value;
    }
  }
  SPROUT_CHECK(saw_kind, ConfigError, "architecture '", text, "': no kind");
  // The first format (mlp and cnn only) spelled batch_norm "bn" and always wrote conv.
  if (auto it = s.params.find("bn"); it != s.params.end() && !s.params.count("batch_norm")) {
    s.params["batch_norm"] = it->second;
    s.params.erase(it);
  }
  if (auto it = s.params.find("conv"); it != s.params.end() && it->second.empty() && s.kind == "mlp") {
    s.params.erase(it);
  }
  // Stricter than complete(): a stored architecture names every parameter of its family
  // and nothing else.
  const ModelFamily& family = model_family(s.kind);
  std::map<std::string, std::string> known;
  for (const auto& setting : family.settings()) known[setting.key] = setting.default_text;
  for (const auto& [key, value] : s.params) {
    SPROUT_CHECK(known.count(key), ConfigError, "architecture '", text, "': unknown field '", key, "' for kind ",
                 s.kind);
  }
  return complete(s);
}

ArchSpec ArchSpec::parse_stored(const std::string& text) {
  ArchSpec s = parse(text);
  // Every stored text names all its family's settings (serialize() after complete()), so a
  // vit without block_heads was written before the heads became width groups.
  SPROUT_CHECK(s.kind != "vit" || text.find(";block_heads=") != std::string::npos, ConfigError, "architecture '",
               text, "': a vit checkpoint from before per-block heads (its attention rows are laid out q, k, v "
               "first; this sprout reads them head by head): retrain it");
  return s;
}

ArchSpec complete(ArchSpec spec) {
  const ModelFamily& family = model_family(spec.kind);
  std::map<std::string, std::string> params;
  for (const auto& setting : family.settings()) {
    auto it = spec.params.find(setting.key);
    const bool given = it != spec.params.end() && !(it->second.empty() && setting.type != FamilySetting::Type::Ints);
    params[setting.key] = given ? canonical(setting, it->second) : setting.default_text;
  }
  spec.params = std::move(params);
  spec = family.normalise(std::move(spec));
  check_completed(spec);
  return spec;
}

void validate(const ArchSpec& spec) { complete(spec); }

namespace {

void check_completed(const ArchSpec& s) {
  const ModelFamily& family = model_family(s.kind);
  SPROUT_CHECK(s.in_channels > 0 && s.in_height > 0 && s.in_width > 0, ConfigError,
               "model input shape must be positive, got ", s.in_channels, "x", s.in_height, "x", s.in_width);
  SPROUT_CHECK(s.classes > 1, ConfigError, "model needs at least 2 classes, got ", s.classes);
  for (const auto& setting : family.settings()) {
    SPROUT_CHECK(s.params.count(setting.key), ConfigError, "model.", setting.key, ": not set for model.kind ",
                 s.kind);
  }
  family.validate(s);
  check_size_limits(s);  // growth/models/memory_estimate.h: widths no machine could hold
}

}  // namespace

}  // namespace sprout::growth
