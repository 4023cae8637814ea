// Datasets: Fashion-MNIST, MNIST (any directory of IDX files), HDF5 files of any image
// shape and number of classes, and a synthetic set for tests; class subsets define tasks.
// IDX and synthetic images are held in memory; HDF5 images stay in the file and are read
// by rows as batches need them (data/hdf5_images.h).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/normalization.h"

namespace sprout::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

class Hdf5Images;  // data/hdf5_images.h

struct Dataset {
  torch::Tensor images;  // in memory: uint8 or float32 (N, C, H, W); undefined for a file
  torch::Tensor labels;  // int64 (N), always in memory
  std::shared_ptr<const Hdf5Images> file;  // images read from a file (HDF5), else null
  torch::Tensor file_rows;  // int64 (N): example i is row file_rows[i] of `file` (undefined: i)

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  std::vector<int64_t> image_shape() const;  // (C, H, W)
  torch::ScalarType image_dtype() const;     // kUInt8 or kFloat32
  // The images of examples `idx` (int64, any order), (len, C, H, W), from memory or the file.
  torch::Tensor gather(const torch::Tensor& idx) const;
  // The images of examples [start, start + count), (count, C, H, W).
  torch::Tensor range(int64_t start, int64_t count) const;
  // The examples `idx` as a dataset of their own (a file-backed one keeps its file).
  Dataset subset(const torch::Tensor& idx) const;
};

struct DataOptions {
  std::string name = "fashion-mnist";  // fashion-mnist | mnist | synthetic | hdf5
  std::string dir;                     // IDX: empty: the dataset's default directory
  std::string path;                    // hdf5: the file
  int64_t num_classes = 0;             // hdf5: 0: the file's num_classes attribute
  std::vector<int64_t> classes;        // empty: every class
  int64_t synthetic_train = 4096;      // synthetic: examples per split
  int64_t synthetic_test = 1024;
  uint64_t synthetic_seed = 7;
};

struct DataSplits {
  Dataset train, test;
  Dataset full_train;  // a file's training split before class selection (the normalisation's data)
  int64_t num_classes = 10;
  int64_t channels = 1, height = 28, width = 28;
  // Per-channel normalisation of the full training split (before class selection). Known
  // after load_data for data held in memory; for a file it is computed by the ranks
  // together (data/normalization.h) or read from a checkpoint.
  Normalization norm;
};

// The directory a dataset is read from (options.dir, or the dataset's default).
std::string data_directory(const DataOptions& options);

// Loads and validates both splits, then keeps only options.classes (labels unchanged).
// Throws DataError naming the file and the problem.
DataSplits load_data(const DataOptions& options);

// Keeps the examples whose label is in `classes` (order preserved).
Dataset select_classes(const Dataset& data, const std::vector<int64_t>& classes);

// The synthetic dataset: 10 classes of noisy 28×28 prototypes, fully determined by seed.
Dataset make_synthetic(int64_t n, uint64_t seed, uint64_t prototype_seed);

}  // namespace sprout::data
