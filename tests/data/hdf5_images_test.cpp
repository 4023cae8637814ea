// The HDF5 reader (data/hdf5_images.h), the chunked normalisation (data/normalization.h)
// and crop/flip augmentation (data/augment.h), on small files written here.
#include "data/hdf5_images.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/normalization.h"
#include "test_util.h"

namespace sprout::data {
namespace {

using sprout::testing::TempDir;

void write_dataset(hid_t file, const std::string& name, const torch::Tensor& t) {
  const auto c = t.contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  const hid_t type = c.scalar_type() == torch::kUInt8    ? H5T_NATIVE_UINT8
                     : c.scalar_type() == torch::kFloat32 ? H5T_NATIVE_FLOAT
                     : c.scalar_type() == torch::kInt32   ? H5T_NATIVE_INT32
                                                          : H5T_NATIVE_INT64;
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hid_t d = H5Dcreate2(file, name.c_str(), type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(d, 0) << name;
  ASSERT_GE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.data_ptr()), 0);
  H5Dclose(d);
  H5Pclose(lcpl);
  H5Sclose(space);
}

// A data set whose image i has every pixel of channel ch equal to (i * 3 + ch) % 251.
std::string write_set(const TempDir& dir, int64_t n, int64_t classes, torch::ScalarType dtype = torch::kUInt8) {
  const std::string path = dir.file("set.h5");
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  auto values = (torch::arange(n).view({n, 1, 1, 1}) * 3 + torch::arange(3).view({1, 3, 1, 1})).remainder(251);
  auto images = values.expand({n, 3, 5, 4}).to(dtype).contiguous();  // (n, 3, 5, 4)
  auto labels = torch::arange(n).remainder(classes).to(torch::kInt32);
  for (const char* split : {"train", "test"}) {
    write_dataset(f, std::string(split) + "/images", images);
    write_dataset(f, std::string(split) + "/labels", labels);
  }
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(f, "num_classes", H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, H5T_NATIVE_INT64, &classes);
  H5Aclose(attr);
  H5Sclose(space);
  H5Fclose(f);
  return path;
}

DataSplits load(const std::string& path, std::vector<int64_t> classes = {}) {
  DataOptions o;
  o.name = "hdf5";
  o.path = path;
  o.classes = std::move(classes);
  return load_data(o);
}

TEST(Hdf5Images, ReadsRowsInTheOrderAskedWithRepeats) {
  TempDir dir;
  const auto s = load(write_set(dir, 40, 7));
  EXPECT_EQ(s.num_classes, 7);
  EXPECT_EQ(s.channels, 3);
  EXPECT_EQ(s.height, 5);
  EXPECT_EQ(s.width, 4);
  EXPECT_FALSE(s.norm.known());  // a file's is computed by the ranks together
  const auto idx = torch::tensor(std::vector<int64_t>{31, 2, 3, 4, 2, 39, 0}, torch::kInt64);
  const auto x = s.train.gather(idx);  // (7, 3, 5, 4)
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{7, 3, 5, 4}));
  for (int64_t i = 0; i < idx.size(0); ++i) {
    for (int64_t ch = 0; ch < 3; ++ch) {
      EXPECT_EQ(x[i][ch][4][3].item<int64_t>(), (idx[i].item<int64_t>() * 3 + ch) % 251) << i << " " << ch;
    }
  }
  EXPECT_TRUE(s.test.range(10, 5).equal(s.test.gather(torch::arange(10, 15))));
}

TEST(Hdf5Images, ClassSubsetMapsToFileRows) {
  TempDir dir;
  const auto s = load(write_set(dir, 40, 4), {1, 3});
  ASSERT_EQ(s.train.size(), 20);
  const auto x = s.train.gather(torch::tensor(std::vector<int64_t>{0, 1, 19}, torch::kInt64));
  // Examples 0, 1, 19 of classes {1, 3} are file rows 1, 3, 39.
  EXPECT_EQ(x[0][0][0][0].item<int64_t>(), 3);
  EXPECT_EQ(x[1][0][0][0].item<int64_t>(), 9);
  EXPECT_EQ(x[2][0][0][0].item<int64_t>(), 117);
  EXPECT_TRUE(s.train.labels.equal(s.train.labels.remainder(4)));
  EXPECT_EQ(s.full_train.size(), 40);
}

TEST(Normalization, TheSameBitsOnAnyNumberOfRanks) {
  TempDir dir;
  // 3 chunks of kMomentChunk and a bit: every world size splits them differently.
  const auto s = load(write_set(dir, 2 * kMomentChunk + 77, 10, torch::kFloat32));
  const auto alone = compute_normalization(s.train);
  for (int world : {2, 3, 5}) {
    std::vector<std::vector<double>> partials(world);
    // Simulates the allreduce: each rank's partial sums, then the elementwise sum.
    for (int r = 0; r < world; ++r) {
      compute_normalization(s.train, r, world, [&, r](std::vector<double>& v) { partials[r] = v; });
    }
    std::vector<double> total(partials[0].size(), 0.0);
    for (int r = 0; r < world; ++r) {
      for (size_t i = 0; i < total.size(); ++i) total[i] += partials[r][i];
    }
    const auto n = compute_normalization(s.train, 0, world, [&](std::vector<double>& v) { v = total; });
    EXPECT_EQ(n.mean, alone.mean) << world;  // bitwise
    EXPECT_EQ(n.stddev, alone.stddev) << world;
  }
  // The oracle: LibTorch's per-channel moments in double.
  const auto x = s.train.range(0, s.train.size()).to(torch::kFloat64).transpose(0, 1).reshape({3, -1});
  for (int64_t ch = 0; ch < 3; ++ch) {
    EXPECT_NEAR(alone.mean[ch], x[ch].mean().item<double>(), 1e-9);
    EXPECT_NEAR(alone.stddev[ch], x[ch].std().item<double>(), 1e-9);
  }
}

TEST(Normalization, Uint8IsScaledAndExact) {
  TempDir dir;
  const auto s = load(write_set(dir, 300, 10));
  const auto n = compute_normalization(s.train);
  const auto x = s.train.range(0, 300).to(torch::kFloat64).div(255.0).transpose(0, 1).reshape({3, -1});
  for (int64_t ch = 0; ch < 3; ++ch) {
    EXPECT_NEAR(n.mean[ch], x[ch].mean().item<double>(), 1e-13);
    EXPECT_NEAR(n.stddev[ch], x[ch].std().item<double>(), 1e-13);
  }
  const auto in = to_input(s.train.range(0, 300), n);  // every channel: mean 0, std 1
  EXPECT_NEAR(in.transpose(0, 1).reshape({3, -1}).mean(1).abs().max().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(in.transpose(0, 1).reshape({3, -1}).std(1).sub(1).abs().max().item<double>(), 0.0, 1e-5);
}

// A file with these datasets (undefined tensors: absent) and, if classes > 0, the attribute.
std::string write_layout(const TempDir& dir, const std::string& name, const torch::Tensor& train_x,
                         const torch::Tensor& train_y, const torch::Tensor& test_x, const torch::Tensor& test_y,
                         int64_t classes = 10) {
  const std::string path = dir.file(name + ".h5");
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (train_x.defined()) write_dataset(f, "train/images", train_x);
  if (train_y.defined()) write_dataset(f, "train/labels", train_y);
  if (test_x.defined()) write_dataset(f, "test/images", test_x);
  if (test_y.defined()) write_dataset(f, "test/labels", test_y);
  if (classes > 0) {
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(f, "num_classes", H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_INT64, &classes);
    H5Aclose(attr);
    H5Sclose(space);
  }
  H5Fclose(f);
  return path;
}

TEST(Hdf5Images, RefusesMalformedFilesNamingTheProblem) {
  TempDir dir;
  auto error = [](const std::string& path) {
    return sprout::testing::error_of<DataError>([&] { load(path); }, "(accepted)");
  };
  const auto x = torch::zeros({8, 1, 4, 4}, torch::kUInt8);
  const auto y = torch::arange(8).remainder(10);
  const torch::Tensor none;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.file("none.h5"), "none.h5: does not exist"},
      {dir.path(), "is a directory, not an HDF5 file"},
      {write_layout(dir, "dims", torch::zeros({8, 16}, torch::kUInt8), y, x, y),
       "train/images has shape (8, 16), expected (N, C, H, W) or (N, H, W)"},
      {write_layout(dir, "five", torch::zeros({8, 1, 1, 4, 4}, torch::kUInt8), y, x, y), "has shape (8, 1, 1, 4, 4)"},
      {write_layout(dir, "dtype", x.to(torch::kInt32), y, x, y), "train/images has dtype int32, expected uint8 or float32"},
      {write_layout(dir, "double", x.to(torch::kInt64), y, x, y), "has dtype int64"},
      {write_layout(dir, "flabels", x, y.to(torch::kFloat32), x, y), "train/labels has dtype float32, expected integers"},
      {write_layout(dir, "count", x, y.narrow(0, 0, 7), x, y), "train/labels holds 7 labels for 8 images"},
      {write_layout(dir, "label", x, y.where(y != 7, torch::full_like(y, 12)), x, y),
       "train/labels: label 12 at index 7 is outside [0, 10) (the num_classes attribute)"},
      {write_layout(dir, "negative", x, y, x, y.where(y != 2, torch::full_like(y, -1))),
       "test/labels: label -1 at index 2"},
      {write_layout(dir, "empty", x, y, x.narrow(0, 0, 0), y.narrow(0, 0, 0)), "the test split is empty"},
      {write_layout(dir, "noattr", x, y, x, y, 0), "no num_classes attribute"},
      {write_layout(dir, "shape", x, y, torch::zeros({8, 1, 5, 4}, torch::kUInt8), y), "train and test images differ"},
      {write_layout(dir, "nolabels", x, none, x, y), "no dataset train/labels"},
      {write_layout(dir, "notest", x, y, none, none), "no dataset test/images"},
  };
  for (const auto& [path, want] : cases) {
    const std::string msg = error(path);
    EXPECT_NE(msg.find(want), std::string::npos) << path << ": " << msg;
  }
  sprout::testing::write_file(dir.file("text.h5"), std::vector<uint8_t>{'h', 'i'});
  EXPECT_NE(error(dir.file("text.h5")).find("text.h5: is not an HDF5 file"), std::string::npos);
  // (N, H, W) is one channel; data.num_classes replaces the attribute.
  DataOptions o;
  o.name = "hdf5";
  o.path = write_layout(dir, "nhw", torch::zeros({8, 4, 4}, torch::kUInt8), y, torch::zeros({8, 4, 4}, torch::kUInt8), y, 0);
  o.num_classes = 12;
  const auto s = load_data(o);
  EXPECT_EQ(s.channels, 1);
  EXPECT_EQ(s.num_classes, 12);
  o.num_classes = 5;
  EXPECT_NE(sprout::testing::error_of<DataError>([&] { load_data(o); }).find("(--data.num_classes)"), std::string::npos);
}

TEST(Augment, CropFlipIsAFunctionOfSeedEpochAndExample) {
  auto images = torch::arange(2 * 3 * 8 * 8).remainder(256).to(torch::kUInt8).view({2, 3, 8, 8});
  const auto idx = torch::tensor(std::vector<int64_t>{5, 9}, torch::kInt64);
  const auto a = crop_flip(images, idx, 1, 0);
  EXPECT_TRUE(a.equal(crop_flip(images, idx, 1, 0)));
  // Example 9 alone, in another batch position: the same crop.
  EXPECT_TRUE(a[1].equal(crop_flip(images.narrow(0, 1, 1), idx.narrow(0, 1, 1), 1, 0)[0]));
  bool differs = false;  // another epoch: other crops (for at least one of 8 epochs)
  for (int64_t e = 1; e < 8; ++e) differs |= !a.equal(crop_flip(images, idx, 1, e));
  EXPECT_TRUE(differs);
  // Every output pixel is zero padding or some pixel of the same image and channel.
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t ch = 0; ch < 3; ++ch) {
      const auto values = images[i][ch].flatten();
      const auto out = a[i][ch].flatten();
      for (int64_t k = 0; k < out.numel(); ++k) {
        EXPECT_TRUE(out[k].item<int64_t>() == 0 || values.eq(out[k]).any().item<bool>());
      }
    }
  }
}

}  // namespace
}  // namespace sprout::data
