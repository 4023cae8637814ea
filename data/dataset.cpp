#include "data/dataset.h"

#include <sys/stat.h>

#include "data/hdf5_images.h"
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

// The file rows of examples `idx`.
std::vector<int64_t> file_rows_of(const Dataset& d, const torch::Tensor& idx) {
  const auto rows = (d.file_rows.defined() ? d.file_rows.index_select(0, idx) : idx).contiguous();
  return std::vector<int64_t>(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.numel());
}

}  // namespace

std::vector<int64_t> Dataset::image_shape() const {
  if (file) return file->image_shape();
  return {images.size(1), images.size(2), images.size(3)};
}

torch::ScalarType Dataset::image_dtype() const { return file ? file->dtype() : images.scalar_type(); }

torch::Tensor Dataset::gather(const torch::Tensor& idx) const {
  if (!file) return images.index_select(0, idx);
  return file->read(file_rows_of(*this, idx));
}

torch::Tensor Dataset::range(int64_t start, int64_t count) const {
  if (!file) return images.narrow(0, start, count);
  if (!file_rows.defined()) return file->read_range(start, count);
  return gather(torch::arange(start, start + count, torch::kInt64));
}

Dataset Dataset::subset(const torch::Tensor& idx) const {
  Dataset d;
  d.labels = labels.index_select(0, idx);
  if (!file) {
    d.images = images.index_select(0, idx);
    return d;
  }
  d.file = file;
  d.file_rows = file_rows.defined() ? file_rows.index_select(0, idx) : idx.to(torch::kInt64);
  return d;
}

std::string data_directory(const DataOptions& options) {
  if (!options.dir.empty()) return options.dir;
  if (options.name == "fashion-mnist") return kFashionMnistDir;
  return "";
}

Dataset select_classes(const Dataset& data, const std::vector<int64_t>& classes) {
  if (classes.empty()) return data;
  auto keep = torch::zeros({data.size()}, torch::kBool);
  for (auto c : classes) keep.logical_or_(data.labels == c);
  return data.subset(keep.nonzero().view({-1}));
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
  } else if (options.name == "hdf5") {
    if (options.path.empty()) throw DataError("data.path: data.name=hdf5 needs a file");
    load_hdf5(options.path, options.num_classes, &s.train, &s.test, &s.num_classes);
  } else {
    throw DataError("data.name: unknown dataset '" + options.name +
                    "' (expected fashion-mnist, mnist, synthetic or hdf5)");
  }
  const auto shape = s.train.image_shape();
  s.channels = shape[0];
  s.height = shape[1];
  s.width = shape[2];
  // In memory: cheap, computed here. A file's is computed by the ranks together, or read
  // from a checkpoint (Note [Normalisation agreement] in data/normalization.h).
  if (s.train.file) s.full_train = s.train;  // labels and the open file only
  else s.norm = compute_normalization(s.train);
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
