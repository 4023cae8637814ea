#include "data/idx.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "test_util.h"

namespace sprout::data {
namespace {

using sprout::testing::TempDir;
using sprout::testing::write_file;

std::vector<uint8_t> idx_bytes(std::vector<uint32_t> dims, uint8_t fill = 7) {
  std::vector<uint8_t> b{0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  size_t n = 1;
  for (auto d : dims) {
    b.push_back(d >> 24);
    b.push_back(d >> 16);
    b.push_back(d >> 8);
    b.push_back(d);
    n *= d;
  }
  for (size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(fill + i));
  return b;
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string error_of(const std::function<void()>& fn) { return sprout::testing::error_of<DataError>(fn, ""); }

TEST(Idx, ParsesRawAndGzipIdentically) {
  TempDir dir;
  const auto bytes = idx_bytes({3, 2, 2});
  write_file(dir.file("a.idx"), bytes);
  write_gzip(dir.file("a.idx.gz"), bytes);
  const auto raw = read_idx(dir.file("a.idx"));
  const auto gz = read_idx(dir.file("a.idx.gz"));
  EXPECT_EQ(raw.dims, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(raw.values.size(), 12u);
  EXPECT_EQ(raw.values[5], 12);
  EXPECT_EQ(raw.dims, gz.dims);
  EXPECT_EQ(raw.values, gz.values);
}

TEST(Idx, RejectsMalformedFilesNamingFileAndProblem) {
  TempDir dir;
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  auto good = idx_bytes({4, 3});
  auto bad_magic = good;
  bad_magic[0] = 0x12;
  auto bad_type = good;
  bad_type[2] = 0x0d;
  auto bad_ndims = good;
  bad_ndims[3] = 9;
  auto truncated = good;
  truncated.resize(truncated.size() - 5);
  auto too_long = good;
  too_long.push_back(1);
  std::vector<Case> cases = {
      {"magic.idx", bad_magic, "bad IDX magic number"},
      {"type.idx", bad_type, "unsupported IDX element type 0x0d"},
      {"ndims.idx", bad_ndims, "9 dimensions"},
      {"trunc.idx", truncated, "truncated: header announces 12 values, file holds 7"},
      {"long.idx", too_long, "too long"},
      {"short.idx", {0, 0}, "too short"},
      {"zero.idx", idx_bytes({0, 3}), "dimension 0 has size 0"},
  };
  for (const auto& c : cases) {
    write_file(dir.file(c.name), c.bytes);
    const std::string msg = error_of([&] { read_idx(dir.file(c.name)); });
    EXPECT_NE(msg.find(dir.file(c.name)), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
  }
  EXPECT_NE(error_of([&] { read_idx(dir.file("missing.idx")); }).find("cannot open"), std::string::npos);
}

// Special files never block and never grow memory: each is refused by name, at once.
TEST(Idx, RefusesFilesThatAreNotRegular) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("fifo.idx").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir(dir.file("dir.idx").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("/dev/zero", dir.file("zero.idx").c_str()), 0);
  const std::pair<const char*, const char*> cases[] = {
      {"fifo.idx", "not a regular file"}, {"dir.idx", "is a directory"}, {"zero.idx", "not a regular file"}};
  for (const auto& c : cases) {
    const char* name = c.first;  // (a structured binding cannot be captured in C++17)
    const char* expect = c.second;
    const std::string msg = error_of([&] { read_idx(dir.file(name)); });
    EXPECT_NE(msg.find(dir.file(name)), std::string::npos) << name << ": " << msg;
    EXPECT_NE(msg.find(expect), std::string::npos) << name << ": " << msg;
  }
}

TEST(Idx, DetectsTruncatedGzipStream) {
  TempDir dir;
  write_gzip(dir.file("full.gz"), idx_bytes({100, 28, 28}));
  std::ifstream in(dir.file("full.gz"), std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gz.resize(gz.size() / 2);
  write_file(dir.file("half.gz"), gz);
  const std::string msg = error_of([&] { read_idx(dir.file("half.gz")); });
  EXPECT_NE(msg.find("truncated gzip stream"), std::string::npos) << msg;
}

TEST(Dataset, LoadsFashionMnist) {
  DataOptions o;
  const auto s = load_data(o);
  EXPECT_EQ(s.train.size(), 60000);
  EXPECT_EQ(s.test.size(), 10000);
  EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(s.train.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(s.train.labels.max().item<int64_t>(), 9);
  // Fashion-MNIST is balanced: 6000 examples per class.
  EXPECT_EQ(s.train.labels.eq(3).sum().item<int64_t>(), 6000);
  // The chunked, exact integer sums (data/normalization.h) against LibTorch's moments in
  // double, whose reduction over 47M pixels is itself off by ~6e-11 (the exact value,
  // from Python's fractions, is 0.35302424826730616: what sprout computes).
  ASSERT_EQ(s.norm.mean.size(), 1u);
  const auto x = s.train.images.to(torch::kFloat64).div_(255.0);
  EXPECT_NEAR(s.norm.mean[0], x.mean().item<double>(), 1e-9);
  EXPECT_NEAR(s.norm.stddev[0], x.std().item<double>(), 1e-9);
  EXPECT_EQ(s.norm.stddev[0], 0.35302424826730616);
  EXPECT_NEAR(s.norm.mean[0], 0.286, 0.01);
}

TEST(Dataset, ClassSubsetKeepsOnlyThoseLabels) {
  DataOptions o;
  o.classes = {2, 7};
  const auto s = load_data(o);
  EXPECT_EQ(s.train.size(), 12000);
  EXPECT_EQ(s.test.size(), 2000);
  EXPECT_TRUE((s.train.labels.eq(2) | s.train.labels.eq(7)).all().item<bool>());
}

TEST(Dataset, RejectsBadDirectoriesAndLabels) {
  TempDir dir;
  DataOptions o;
  o.name = "mnist";
  o.dir = dir.path();
  EXPECT_NE(error_of([&] { load_data(o); }).find("no train-images-idx3-ubyte"), std::string::npos);
  // Labels out of range and count mismatches.
  write_file(dir.file("train-images-idx3-ubyte"), idx_bytes({4, 2, 2}));
  auto labels = idx_bytes({4}, 0);
  labels.back() = 12;
  write_file(dir.file("train-labels-idx1-ubyte"), labels);
  write_file(dir.file("t10k-images-idx3-ubyte"), idx_bytes({2, 2, 2}));
  write_file(dir.file("t10k-labels-idx1-ubyte"), idx_bytes({3}, 0));
  EXPECT_NE(error_of([&] { load_data(o); }).find("label 12 at index 3"), std::string::npos);
  labels.back() = 1;
  write_file(dir.file("train-labels-idx1-ubyte"), labels);
  EXPECT_NE(error_of([&] { load_data(o); }).find("3 labels for 2 images"), std::string::npos);
  o.dir = dir.file("nope");
  EXPECT_NE(error_of([&] { load_data(o); }).find("does not exist"), std::string::npos);
}

TEST(Dataset, SyntheticIsDeterministicAndLearnableShape) {
  const auto a = make_synthetic(64, 3, 7);
  const auto b = make_synthetic(64, 3, 7);
  const auto c = make_synthetic(64, 4, 7);
  EXPECT_TRUE(a.images.equal(b.images));
  EXPECT_TRUE(a.labels.equal(b.labels));
  EXPECT_FALSE(a.images.equal(c.images));
  EXPECT_EQ(a.images.sizes(), (std::vector<int64_t>{64, 1, 28, 28}));
  EXPECT_GE(a.labels.min().item<int64_t>(), 0);
  EXPECT_LT(a.labels.max().item<int64_t>(), 10);
}

}  // namespace
}  // namespace sprout::data
