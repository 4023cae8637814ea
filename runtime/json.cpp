#include "runtime/json.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace sprout::runtime {

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

JsonObject& JsonObject::add(const std::string& key, const std::string& value) {
  fields_.emplace_back(key, json_quote(value));
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, double value) {
  fields_.emplace_back(key, json_number(value));
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, int64_t value) {
  fields_.emplace_back(key, std::to_string(value));
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, bool value) {
  fields_.emplace_back(key, value ? "true" : "false");
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const JsonObject& value) {
  fields_.emplace_back(key, value.str());
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const std::vector<int64_t>& value) {
  std::string s = "[";
  for (size_t i = 0; i < value.size(); ++i) s += (i ? "," : "") + std::to_string(value[i]);
  fields_.emplace_back(key, s + "]");
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const std::vector<double>& value) {
  std::string s = "[";
  for (size_t i = 0; i < value.size(); ++i) s += (i ? "," : "") + json_number(value[i]);
  fields_.emplace_back(key, s + "]");
  return *this;
}
JsonObject& JsonObject::add_raw(const std::string& key, const std::string& json) {
  fields_.emplace_back(key, json);
  return *this;
}

std::string JsonObject::str() const {
  std::string s = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    s += (i ? "," : "") + json_quote(fields_[i].first) + ":" + fields_[i].second;
  }
  return s + "}";
}

}  // namespace sprout::runtime
