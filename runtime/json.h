// JSON objects for metrics lines, summaries, reports and benchmark output, written and
// read with nlohmann-json. This header only forward-declares the library: its full header
// is heavy, so it is included by json.cpp and by the few files that read documents.
//
// Numbers: finite doubles are written so that parsing the text gives back the same bits
// (0.1+0.2 stays 0.30000000000000004, -0.0 stays -0.0, denormals survive). NaN and ±Inf
// have no JSON spelling: they are written as null, and number() reads null back as NaN
// (which infinity it was is lost). Keys keep the order they were added in; adding a key
// again replaces its value in place.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sprout::runtime {

class JsonObject {
 public:
  JsonObject();
  ~JsonObject();
  JsonObject(const JsonObject& other);
  JsonObject(JsonObject&& other) noexcept;  // `other` may then only be assigned to or destroyed
  JsonObject& operator=(const JsonObject& other);
  JsonObject& operator=(JsonObject&& other) noexcept;

  JsonObject& add(const std::string& key, const std::string& value);
  JsonObject& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  JsonObject& add(const std::string& key, double value);
  JsonObject& add(const std::string& key, int64_t value);
  JsonObject& add(const std::string& key, int value) { return add(key, static_cast<int64_t>(value)); }
  JsonObject& add(const std::string& key, bool value);
  JsonObject& add(const std::string& key, const JsonObject& value);
  JsonObject& add(const std::string& key, const std::vector<int64_t>& value);
  JsonObject& add(const std::string& key, const std::vector<double>& value);
  JsonObject& add(const std::string& key, const std::vector<std::string>& value);
  JsonObject& add(const std::string& key, const std::vector<JsonObject>& value);

  // One line of compact JSON ({"a":1,"b":"x"}, no spaces).
  std::string str() const;
  bool empty() const;
  bool has(const std::string& key) const;

  // Reading. parse() throws ConfigError (with the parser's position) unless `text` is one
  // JSON object. number() reads a number, or null as NaN; text() a string; object() a
  // nested object. Each throws ConfigError naming the key when it is absent or of another type.
  static JsonObject parse(const std::string& text);
  double number(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  std::string text(const std::string& key) const;
  JsonObject object(const std::string& key) const;

  // The document itself, for readers that include <nlohmann/json.hpp> (arrays, iteration).
  const nlohmann::ordered_json& value() const { return *value_; }

 private:
  std::unique_ptr<nlohmann::ordered_json> value_;
};

// The JSON text of one number as JsonObject writes it (round-trip exact; "null" if not finite).
std::string json_number(double v);

}  // namespace sprout::runtime
