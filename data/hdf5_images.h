// HDF5 data sets (data.name = hdf5): the file layout, and a reader that loads only the
// rows it is asked for, by hyperslab, so that no rank holds a whole split in memory.
//
// The layout (data/README.md#hdf5-data-sets; written by data/scripts/to_hdf5.py):
//   /train/images   (N, C, H, W) or (N, H, W), uint8 or float32
//   /train/labels   (N), any integer type, every value in [0, classes)
//   /test/images, /test/labels   the same, with the train split's C, H, W and dtype
//   attribute num_classes on "/" (an integer), unless data.num_classes gives it
// Labels are read whole (8 bytes an example, needed to select classes); images never are.
//
// The file is opened read-only with HDF5's default (POSIX) driver on each rank on its own:
// reads are local, no collectives. Every HDF5 call runs on the calling thread; the reader
// is meant for the training thread (HDF5 here is not built thread-safe).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sprout::data {

struct Dataset;  // data/dataset.h

// One split's images in an open HDF5 file. Copies share the open file.
class Hdf5Images {
 public:
  // Opens `split`/images of `path` and validates its rank, sizes and dtype. Throws
  // DataError "<path>: <split>/images: <problem>".
  Hdf5Images(const std::string& path, const std::string& split);
  ~Hdf5Images();
  Hdf5Images(const Hdf5Images&) = delete;
  Hdf5Images& operator=(const Hdf5Images&) = delete;

  int64_t rows() const { return rows_; }
  const std::vector<int64_t>& image_shape() const { return shape_; }  // (C, H, W)
  torch::ScalarType dtype() const { return dtype_; }                  // kUInt8 or kFloat32

  // The images at `rows` (any order, repeats allowed), (len, C, H, W): one read of the
  // union of the rows' hyperslabs. Throws DataError on a failed read.
  torch::Tensor read(const std::vector<int64_t>& rows) const;
  // Rows [start, start + count), (count, C, H, W).
  torch::Tensor read_range(int64_t start, int64_t count) const;

 private:
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string name_;  // "<path>: <split>/images", for messages
  int64_t rows_ = 0;
  std::vector<int64_t> shape_;
  torch::ScalarType dtype_ = torch::kUInt8;
};

// Both splits of an HDF5 data set: labels in memory, images behind Hdf5Images.
// `classes` > 0 overrides the file's num_classes attribute. Throws DataError naming the
// file and what is wrong (missing dataset, wrong rank or dtype, images and labels of
// different lengths, an empty split, a label outside [0, classes), train and test of
// different image shapes).
void load_hdf5(const std::string& path, int64_t classes, Dataset* train, Dataset* test, int64_t* num_classes);

// Refuses, with the same words as load_hdf5, what is not a readable regular file: a
// missing path, a directory, a FIFO or device. Returns "" when `path` may be opened.
std::string hdf5_path_problem(const std::string& path);

}  // namespace sprout::data
