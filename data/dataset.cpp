#include "data/dataset.h"

#include <sys/stat.h>

#include "data/idx.h"

namespace sprout::data {

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Finds `stem` in `dir` under the spellings MNIST mirrors use.
std::string find_file(const std::string& dir, const std::string& stem) {
  std::string dotted = stem;  // train-images-idx3-ubyte -> train-images.idx3-ubyte
  const auto pos = dotted.find("-idx");
  if (pos != std::string::npos) dotted[pos] = '.';
  for (const auto& name : {stem + ".gz", stem, dotted + ".gz", dotted}) {
    const std::string path = dir + "/" + name;
    if (exists(path)) return path;
  }
  throw DataError(dir + ": no " + stem + "[.gz] file in this directory");
}

Dataset load_split(const std::string& dir, const std::string& prefix, int64_t num_classes) {
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.dims.size() != 3) {
    throw DataError(images_path + ": expected 3 dimensions (count, rows, columns), found " +
                    std::to_string(images.dims.size()));
  }
  if (labels.dims.size() != 1) {
    throw DataError(labels_path + ": expected 1 dimension (count), found " + std::to_string(labels.dims.size()));
  }
  if (images.count() != labels.count()) {
    throw DataError(labels_path + ": " + std::to_string(labels.count()) + " labels for " +
                    std::to_string(images.count()) + " images in " + images_path);
  }
  for (size_t i = 0; i < labels.values.size(); ++i) {
    if (labels.values[i] >= num_classes) {
      throw DataError(labels_path + ": label " + std::to_string(labels.values[i]) + " at index " +
                      std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");
    }
  }
  Dataset d;
  const int64_t n = images.dims[0], h = images.dims[1], w = images.dims[2];
  d.images = torch::from_blob(images.values.data(), {n, 1, h, w}, torch::kUInt8).clone();
  d.labels = torch::from_blob(labels.values.data(), {n}, torch::kUInt8).to(torch::kInt64);
  return d;
}

std::pair<double, double> moments(const torch::Tensor& images) {
  auto x = images.to(torch::kFloat64).div_(255.0);
  return {x.mean().item<double>(), x.std().item<double>()};
}

}  // namespace

std::string data_directory(const DataOptions& options) {
  if (!options.dir.empty()) return options.dir;
  if (options.name == "fashion-mnist") return kFashionMnistDir;
  return "";
}

Dataset select_classes(const Dataset& data, const std::vector<int64_t>& classes) {
  if (classes.empty()) return data;
  auto keep = torch::zeros({data.size()}, torch::kBool);
  for (auto c : classes) keep.logical_or_(data.labels == c);
  auto idx = keep.nonzero().view({-1});
  return Dataset{data.images.index_select(0, idx), data.labels.index_select(0, idx)};
}

torch::Tensor to_input(const torch::Tensor& images, double mean, double stddev) {
  return images.to(torch::kFloat32).div_(255.0).sub_(mean).div_(stddev);
}

DataSplits load_data(const DataOptions& options) {
  DataSplits s;
  if (options.name == "synthetic") {
    if (options.synthetic_train <= 0 || options.synthetic_test <= 0) {
      throw DataError("synthetic dataset: sizes must be > 0");
    }
    s.train = make_synthetic(options.synthetic_train, options.synthetic_seed, options.synthetic_seed);
    s.test = make_synthetic(options.synthetic_test, options.synthetic_seed + 1, options.synthetic_seed);
  } else if (options.name == "fashion-mnist" || options.name == "mnist") {
    const std::string dir = data_directory(options);
    if (dir.empty()) throw DataError("data.dir: the mnist dataset needs a directory");
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw DataError(dir + ": data directory does not exist");
    }
    s.train = load_split(dir, "train", s.num_classes);
    s.test = load_split(dir, "t10k", s.num_classes);
    if (s.train.images.sizes().slice(1) != s.test.images.sizes().slice(1)) {
      throw DataError(dir + ": train and t10k images have different shapes");
    }
  } else {
    throw DataError("data.name: unknown dataset '" + options.name + "' (expected fashion-mnist, mnist or synthetic)");
  }
  s.channels = s.train.images.size(1);
  s.height = s.train.images.size(2);
  s.width = s.train.images.size(3);
  std::tie(s.mean, s.stddev) = moments(s.train.images);
  for (auto c : options.classes) {
    if (c < 0 || c >= s.num_classes) {
      throw DataError("data.classes: class " + std::to_string(c) + " is outside [0, " +
                      std::to_string(s.num_classes) + ")");
    }
  }
  s.train = select_classes(s.train, options.classes);
  s.test = select_classes(s.test, options.classes);
  return s;
}

}  // namespace sprout::data
