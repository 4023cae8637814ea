#include "runtime/json.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace sprout::runtime {

namespace {

using Json = nlohmann::ordered_json;

// nlohmann-json would write a non-finite double as null too; doing it here makes the
// documented representation independent of the library's choice.
Json number_value(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

}  // namespace

JsonObject::JsonObject() : value_(std::make_unique<Json>(Json::object())) {}
JsonObject::~JsonObject() = default;
JsonObject::JsonObject(const JsonObject& other) : value_(std::make_unique<Json>(*other.value_)) {}
JsonObject::JsonObject(JsonObject&& other) noexcept : value_(std::move(other.value_)) {
  other.value_ = nullptr;
}
JsonObject& JsonObject::operator=(const JsonObject& other) {
  if (this != &other) value_ = std::make_unique<Json>(*other.value_);
  return *this;
}
JsonObject& JsonObject::operator=(JsonObject&& other) noexcept {
  std::swap(value_, other.value_);
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, const std::string& value) {
  (*value_)[key] = value;
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, double value) {
  (*value_)[key] = number_value(value);
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, int64_t value) {
  (*value_)[key] = value;
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, bool value) {
  (*value_)[key] = value;
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const JsonObject& value) {
  (*value_)[key] = *value.value_;
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const std::vector<int64_t>& value) {
  (*value_)[key] = value;
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const std::vector<double>& value) {
  Json array = Json::array();
  for (double v : value) array.push_back(number_value(v));
  (*value_)[key] = std::move(array);
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const std::vector<std::string>& value) {
  (*value_)[key] = value;
  return *this;
}
JsonObject& JsonObject::add(const std::string& key, const std::vector<JsonObject>& value) {
  Json array = Json::array();
  for (const auto& v : value) array.push_back(*v.value_);
  (*value_)[key] = std::move(array);
  return *this;
}

// Invalid UTF-8 in a string (a file name, say) is replaced rather than thrown on: a
// metrics line must never abort a run.
std::string JsonObject::str() const { return value_->dump(-1, ' ', false, Json::error_handler_t::replace); }

bool JsonObject::empty() const { return value_->empty(); }

bool JsonObject::has(const std::string& key) const { return value_->contains(key); }

JsonObject JsonObject::parse(const std::string& text) {
  JsonObject out;
  try {
    *out.value_ = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw ConfigError(concat("malformed JSON: ", e.what()));
  }
  SPROUT_CHECK(out.value_->is_object(), ConfigError, "JSON text is not an object: ", text.substr(0, 80));
  return out;
}

namespace {

const Json& field(const Json& object, const std::string& key) {
  auto it = object.find(key);
  SPROUT_CHECK(it != object.end(), ConfigError, "JSON object has no key '", key, "'");
  return *it;
}

}  // namespace

double JsonObject::number(const std::string& key) const {
  const Json& v = field(*value_, key);
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  SPROUT_CHECK(v.is_number(), ConfigError, "JSON key '", key, "' is not a number: ", v.dump());
  return v.get<double>();
}

int64_t JsonObject::integer(const std::string& key) const {
  const Json& v = field(*value_, key);
  SPROUT_CHECK(v.is_number_integer(), ConfigError, "JSON key '", key, "' is not an integer: ", v.dump());
  return v.get<int64_t>();
}

std::string JsonObject::text(const std::string& key) const {
  const Json& v = field(*value_, key);
  SPROUT_CHECK(v.is_string(), ConfigError, "JSON key '", key, "' is not a string: ", v.dump());
  return v.get<std::string>();
}

JsonObject JsonObject::object(const std::string& key) const {
  const Json& v = field(*value_, key);
  SPROUT_CHECK(v.is_object(), ConfigError, "JSON key '", key, "' is not an object: ", v.dump());
  JsonObject out;
  *out.value_ = v;
  return out;
}

std::string json_number(double v) { return number_value(v).dump(); }

}  // namespace sprout::runtime
