#include "growth/models/arch.h"

#include <sstream>

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

int64_t ArchSpec::feature_height() const {
  int64_t h = in_height;
  if (kind == "cnn") for (size_t i = 0; i < conv.size(); ++i) h /= 2;
  return h;
}

int64_t ArchSpec::feature_width() const {
  int64_t w = in_width;
  if (kind == "cnn") for (size_t i = 0; i < conv.size(); ++i) w /= 2;
  return w;
}

std::string ArchSpec::describe() const {
  std::ostringstream os;
  os << kind << " ";
  if (kind == "cnn") {
    os << in_channels << "x" << in_height << "x" << in_width << " ";
    for (size_t i = 0; i < conv.size(); ++i) os << (i ? "-" : "") << "c" << conv[i];
    os << " " << conv.back() * feature_height() * feature_width();
  } else {
    os << in_channels * in_height * in_width;
  }
  for (auto w : widths) os << "-" << w;
  os << "-" << classes;
  if (batch_norm) os << " bn";
  return os.str();
}

std::string ArchSpec::serialize() const {
  return concat("kind=", kind, ";in=", in_channels, "x", in_height, "x", in_width, ";classes=", classes,
             ";conv=", join_ints(conv), ";widths=", join_ints(widths), ";bn=", batch_norm ? 1 : 0);
}

ArchSpec ArchSpec::parse(const std::string& text) {
  ArchSpec s;
  s.conv.clear();
  s.widths.clear();
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
      s.classes = parse_int_list(value, "architecture classes").at(0);
    } else if (key == "conv") {
      s.conv = parse_int_list(value, "architecture conv");
    } else if (key == "widths") {
      s.widths = parse_int_list(value, "architecture widths");
    } else if (key == "bn") {
      s.batch_norm = value == "1";
    } else {
      throw ConfigError(concat("architecture '", text, "': unknown field '", key, "'"));
    }
  }
  SPROUT_CHECK(saw_kind, ConfigError, "architecture '", text, "': no kind");
  validate(s);
  return s;
}

void validate(const ArchSpec& s) {
  SPROUT_CHECK(s.kind == "mlp" || s.kind == "cnn", ConfigError, "model.kind: unknown model '", s.kind,
               "' (expected mlp or cnn)");
  SPROUT_CHECK(s.in_channels > 0 && s.in_height > 0 && s.in_width > 0, ConfigError,
               "model input shape must be positive, got ", s.in_channels, "x", s.in_height, "x", s.in_width);
  SPROUT_CHECK(s.classes > 1, ConfigError, "model needs at least 2 classes, got ", s.classes);
  for (auto w : s.widths) {
    SPROUT_CHECK(w > 0, ConfigError, "model.widths: every width must be > 0, got ", join_ints(s.widths));
  }
  if (s.kind == "cnn") {
    SPROUT_CHECK(!s.conv.empty(), ConfigError, "model.conv: a cnn needs at least one conv layer");
    for (auto c : s.conv) {
      SPROUT_CHECK(c > 0, ConfigError, "model.conv: every channel count must be > 0, got ", join_ints(s.conv));
    }
    SPROUT_CHECK(s.feature_height() >= 1 && s.feature_width() >= 1, ConfigError, "model.conv: ",
                 s.conv.size(), " conv blocks halve a ", s.in_height, "x", s.in_width,
                 " input below 1x1");
  }
  check_size_limits(s);  // growth/models/memory_estimate.h: widths no machine could hold
}

}  // namespace sprout::growth
