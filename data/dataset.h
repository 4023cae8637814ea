// Datasets: Fashion-MNIST, MNIST (any directory of IDX files) and a synthetic set for
// tests, held in memory as uint8 images; class subsets define tasks.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sprout::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct Dataset {
  torch::Tensor images;  // uint8 (N, C, H, W)
  torch::Tensor labels;  // int64 (N)
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct DataOptions {
  std::string name = "fashion-mnist";  // fashion-mnist | mnist | synthetic
  std::string dir;                     // empty: the dataset's default directory
  std::vector<int64_t> classes;        // empty: every class
  int64_t synthetic_train = 4096;      // synthetic: examples per split
  int64_t synthetic_test = 1024;
  uint64_t synthetic_seed = 7;
};

struct DataSplits {
  Dataset train, test;
  int64_t num_classes = 10;
  int64_t channels = 1, height = 28, width = 28;
  // Normalisation computed from the full training split (before class selection).
  double mean = 0.0, stddev = 1.0;
};

// The directory a dataset is read from (options.dir, or the dataset's default).
std::string data_directory(const DataOptions& options);

// Loads and validates both splits, then keeps only options.classes (labels unchanged).
// Throws DataError naming the file and the problem.
DataSplits load_data(const DataOptions& options);

// Keeps the examples whose label is in `classes` (order preserved).
Dataset select_classes(const Dataset& data, const std::vector<int64_t>& classes);

// uint8 images (N, C, H, W) -> normalised float32 model input.
torch::Tensor to_input(const torch::Tensor& images, double mean, double stddev);

// The synthetic dataset: 10 classes of noisy 28×28 prototypes, fully determined by seed.
Dataset make_synthetic(int64_t n, uint64_t seed, uint64_t prototype_seed);

}  // namespace sprout::data
