// A minimal JSON object writer for metrics lines and summaries (no parsing).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sprout::runtime {

class JsonObject {
 public:
  JsonObject& add(const std::string& key, const std::string& value);
  JsonObject& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  JsonObject& add(const std::string& key, double value);
  JsonObject& add(const std::string& key, int64_t value);
  JsonObject& add(const std::string& key, int value) { return add(key, static_cast<int64_t>(value)); }
  JsonObject& add(const std::string& key, bool value);
  JsonObject& add(const std::string& key, const JsonObject& value);
  JsonObject& add(const std::string& key, const std::vector<int64_t>& value);
  JsonObject& add(const std::string& key, const std::vector<double>& value);
  // `json` must already be valid JSON text.
  JsonObject& add_raw(const std::string& key, const std::string& json);
  std::string str() const;
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

std::string json_quote(const std::string& s);
// Finite numbers as shortest round-trip text; NaN/Inf as null (JSON has no such values).
std::string json_number(double v);

}  // namespace sprout::runtime
