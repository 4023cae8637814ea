// safetensors files without the library: the bytes the writer produces (checked against
// the format's definition, byte for byte), the round trip of every supported dtype, and
// one clear error for every malformed file the reader meets.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "launch/interop/safetensors.h"
#include "test_util.h"

namespace sprout::launch {
namespace {

using testing::error_of;
using testing::TempDir;

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file made by hand: 8-byte length, the header text as given, then `data`.
std::string handmade(const TempDir& dir, const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  const std::string path = dir.file("handmade.safetensors");
  testing::write_file(path, bytes);
  return path;
}

TEST(Safetensors, WritesTheFormatByteForByte) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  write_safetensors(path, {{"w", torch::tensor({1.0f, -2.0f})}, {"n", torch::tensor({int64_t{3}})}}, {{"k", "v"}});
  const auto bytes = read_bytes(path);
  const std::string header =
      R"({"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("n":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  ASSERT_EQ(bytes.size(), 8 + padded.size() + 16);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  EXPECT_EQ(n, padded.size());
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 8 + n), padded);
  float w[2];
  int64_t c = 0;
  std::memcpy(w, bytes.data() + 8 + n, 8);
  std::memcpy(&c, bytes.data() + 8 + n + 8, 8);
  EXPECT_EQ(w[0], 1.0f);
  EXPECT_EQ(w[1], -2.0f);
  EXPECT_EQ(c, 3);
}

TEST(Safetensors, EveryDtypeRoundTrips) {
  TempDir dir;
  NamedTensors in;
  for (auto t : {torch::kFloat64, torch::kFloat32, torch::kInt64, torch::kInt32, torch::kInt16, torch::kInt8,
                 torch::kUInt8}) {
    in.emplace_back(safetensors_dtype(t), (torch::arange(24) - 5).reshape({2, 3, 4}).to(t));
  }
  in.emplace_back("empty", torch::zeros({0, 3}));
  in.emplace_back("scalar", torch::tensor(7.5));
  const std::string path = dir.file("all.safetensors");
  write_safetensors(path, in, {});
  const auto out = read_safetensors(path);
  ASSERT_EQ(out.tensors.size(), in.size());
  EXPECT_TRUE(out.metadata.empty());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out.tensors[i].first, in[i].first);
    EXPECT_EQ(out.tensors[i].second.scalar_type(), in[i].second.scalar_type()) << in[i].first;
    EXPECT_TRUE(torch::equal(out.tensors[i].second, in[i].second)) << in[i].first;
  }
  EXPECT_EQ(out.tensors.back().second.dim(), 0);
}

TEST(Safetensors, RefusesWhatItCannotWrite) {
  TempDir dir;
  EXPECT_NE(error_of([&] { write_safetensors(dir.file("x"), {{"a", torch::zeros({1}, torch::kBool)}}, {}); })
                .find("not supported"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              write_safetensors(dir.file("x"), {{"a", torch::zeros({1})}, {"a", torch::zeros({1})}}, {});
            }).find("tensor name a given twice"),
            std::string::npos);
}

TEST(Safetensors, EveryMalformedFileIsOneLineNamingTheProblem) {
  TempDir dir;
  const std::vector<uint8_t> eight(8, 0);
  auto error = [&](const std::string& header, const std::vector<uint8_t>& data) {
    const std::string path = handmade(dir, header, data);
    return error_of([&] { read_safetensors(path); });
  };
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error(ok, eight), "(no error)");
  EXPECT_NE(error("{nope", eight).find("the header is not JSON"), std::string::npos);
  EXPECT_NE(error("[1,2]", eight).find("not a JSON object"), std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", eight)
                .find("tensor a: dtype BF16 is not supported"),
            std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)
                .find("tensor a: 8 bytes for dtype F32 and shape [3] (12 expected)"),
            std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", eight)
                .find("tensor a: data_offsets [0, 16] lie outside the 8 data bytes"),
            std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight).find("gap or overlap"),
            std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight)
                .find("4 bytes after the last tensor's data"),
            std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)
                .find("tensor a: shape [-2] is not a list of integers >= 0"),
            std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"F32","shape":[2]}})", eight).find("tensor a: needs dtype, shape and data_offsets"),
            std::string::npos);
  EXPECT_NE(error(R"({"__metadata__":{"k":1},)" + ok.substr(1), eight).find("__metadata__ k is not a string"),
            std::string::npos);
  EXPECT_NE(error(R"({"a":{"dtype":"U8","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", eight)
                .find("tensor a: shape [4611686018427387904, 8] is too large"),
            std::string::npos);

  const std::string short_path = dir.file("short");
  testing::write_file(short_path, {1, 2, 3});
  EXPECT_NE(error_of([&] { read_safetensors(short_path); }).find("too short"), std::string::npos);
  const std::string long_header = dir.file("long");
  testing::write_file(long_header, {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
  EXPECT_NE(error_of([&] { read_safetensors(long_header); }).find("header length 200 does not fit the 10-byte file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_safetensors(dir.file("absent")); }).find("cannot open the file"), std::string::npos);
}

}  // namespace
}  // namespace sprout::launch
