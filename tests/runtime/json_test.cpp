// JsonObject: numbers written and read back bit for bit, the documented non-finite
// representation, nesting, and reading errors.
#include "runtime/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace sprout::runtime {
namespace {

uint64_t bits(double v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

TEST(Json, DoublesRoundTripBitwise) {
  const double values[] = {0.1 + 0.2,
                           1e-300,
                           -0.0,
                           0.0,
                           std::numeric_limits<double>::denorm_min(),
                           4.9406564584124654e-320,  // a denormal that is not the smallest
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::max(),
                           -std::numeric_limits<double>::max(),
                           1.0 / 3.0,
                           123456789.123456789,
                           1.0,
                           -2.5e17,
                           static_cast<double>(0.1f)};
  JsonObject out;
  for (size_t i = 0; i < std::size(values); ++i) out.add("v" + std::to_string(i), values[i]);
  const JsonObject in = JsonObject::parse(out.str());
  for (size_t i = 0; i < std::size(values); ++i) {
    const double back = in.number("v" + std::to_string(i));
    EXPECT_EQ(bits(back), bits(values[i])) << "value " << i << " written as " << json_number(values[i]);
  }
  // 0.1+0.2 is not 0.3, and the text says so.
  EXPECT_NE(json_number(0.1 + 0.2), json_number(0.3));
  EXPECT_EQ(json_number(-0.0), "-0.0");
}

TEST(Json, ArraysOfDoublesRoundTrip) {
  const std::vector<double> values = {0.1 + 0.2, -0.0, 5e-324, 2.0 / 3.0};
  JsonObject out;
  out.add("a", values);
  const auto parsed = JsonObject::parse(out.str()).value().at("a");
  ASSERT_EQ(parsed.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(bits(parsed[i].get<double>()), bits(values[i])) << i;
}

TEST(Json, NonFiniteIsNullAndReadsBackAsNaN) {
  JsonObject out;
  out.add("nan", std::numeric_limits<double>::quiet_NaN())
      .add("inf", std::numeric_limits<double>::infinity())
      .add("minus_inf", -std::numeric_limits<double>::infinity())
      .add("list", std::vector<double>{1.5, std::nan("")});
  EXPECT_EQ(out.str(), R"({"nan":null,"inf":null,"minus_inf":null,"list":[1.5,null]})");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
  const JsonObject in = JsonObject::parse(out.str());
  EXPECT_TRUE(std::isnan(in.number("nan")));
  EXPECT_TRUE(std::isnan(in.number("inf")));
}

TEST(Json, CompactOrderedOutputWithNestingAndEscapes) {
  JsonObject widths;
  widths.add("fc2", int64_t{12}).add("fc1", 21);
  JsonObject row;
  row.add("width", "0.5x");
  JsonObject j;
  j.add("event", "growth").add("step", int64_t{1500}).add("ok", true).add("widths", widths)
      .add("seen", std::vector<int64_t>{0, 1}).add("models", std::vector<std::string>{"magmax", "a\"b"})
      .add("rows", std::vector<JsonObject>{row, row}).add("path", "x\n\ty\\");
  EXPECT_EQ(j.str(),
            R"({"event":"growth","step":1500,"ok":true,"widths":{"fc2":12,"fc1":21},"seen":[0,1],)"
            R"("models":["magmax","a\"b"],"rows":[{"width":"0.5x"},{"width":"0.5x"}],"path":"x\n\ty\\"})");
  const JsonObject in = JsonObject::parse(j.str());
  EXPECT_EQ(in.integer("step"), 1500);
  EXPECT_EQ(in.text("path"), "x\n\ty\\");
  EXPECT_EQ(in.object("widths").integer("fc1"), 21);
  // A key added again keeps its place and takes the new value.
  j.add("event", "resume");
  EXPECT_EQ(j.str().rfind(R"({"event":"resume","step":1500,)", 0), 0u) << j.str();
}

TEST(Json, CopiesAreIndependent) {
  JsonObject a;
  a.add("x", 1);
  JsonObject b = a;
  b.add("y", 2);
  EXPECT_EQ(a.str(), R"({"x":1})");
  EXPECT_EQ(b.str(), R"({"x":1,"y":2})");
  JsonObject c = std::move(b);
  EXPECT_EQ(c.str(), R"({"x":1,"y":2})");
}

TEST(Json, ReadingErrorsNameTheProblem) {
  EXPECT_THROW(JsonObject::parse("{\"a\":"), ConfigError);
  EXPECT_THROW(JsonObject::parse("[1,2]"), ConfigError);
  const JsonObject in = JsonObject::parse(R"({"a":"text","n":1.5})");
  try {
    in.number("a");
    FAIL() << "a string read as a number";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'a'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(in.number("missing"), ConfigError);
  EXPECT_THROW(in.integer("n"), ConfigError);
  EXPECT_THROW(in.object("a"), ConfigError);
}

}  // namespace
}  // namespace sprout::runtime
