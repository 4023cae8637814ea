#include "data/hdf5_images.h"

#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>

#include "data/dataset.h"
#include "data/idx.h"

namespace sprout::data {

namespace {

// Owns one HDF5 identifier.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  Id(Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight to the C API
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  Closer close_;
};

// Our own messages replace HDF5's error stacks, which would print on every failed probe.
void quiet_hdf5() {
  static const bool once = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)once;
}

Id open_file(const std::string& path) {
  quiet_hdf5();
  const std::string problem = hdf5_path_problem(path);
  if (!problem.empty()) throw DataError(path + ": " + problem);
  if (H5Fis_hdf5(path.c_str()) <= 0) throw DataError(path + ": is not an HDF5 file");
  Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw DataError(path + ": cannot open the HDF5 file");
  return file;
}

Id open_dataset(hid_t file, const std::string& path, const std::string& name) {
  if (H5Lexists(file, name.substr(0, name.find('/')).c_str(), H5P_DEFAULT) <= 0 ||
      H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
    throw DataError(path + ": no dataset " + name);
  }
  Id d(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.ok()) throw DataError(path + ": " + name + " is not a dataset");
  return d;
}

std::vector<int64_t> dims_of(hid_t dataset) {
  Id space(H5Dget_space(dataset), H5Sclose);
  const int rank = space.ok() ? H5Sget_simple_extent_ndims(space) : -1;
  std::vector<hsize_t> d(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, d.data(), nullptr);
  return std::vector<int64_t>(d.begin(), d.end());
}

std::string dims_text(const std::vector<int64_t>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + ")";
}

std::string type_text(hid_t type) {
  const auto cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(8 * size);
  if (cls == H5T_FLOAT) return "float" + std::to_string(8 * size);
  if (cls == H5T_STRING) return "string";
  return "a non-numeric type";
}

// The labels of `split`, int64 (N), each checked against [0, classes).
torch::Tensor read_labels(hid_t file, const std::string& path, const std::string& split) {
  const std::string name = split + "/labels";
  Id d = open_dataset(file, path, name);
  const auto dims = dims_of(d);
  if (dims.size() != 1) {
    throw DataError(path + ": " + name + " has shape " + dims_text(dims) + ", expected (N)");
  }
  Id type(H5Dget_type(d), H5Tclose);
  if (H5Tget_class(type) != H5T_INTEGER) {
    throw DataError(path + ": " + name + " has dtype " + type_text(type) + ", expected integers");
  }
  auto labels = torch::empty({dims[0]}, torch::kInt64);
  if (dims[0] > 0 && H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data_ptr<int64_t>()) < 0) {
    throw DataError(path + ": cannot read " + name);
  }
  return labels;
}

int64_t classes_attribute(hid_t file, const std::string& path) {
  if (H5Aexists(file, "num_classes") <= 0) {
    throw DataError(path + ": no num_classes attribute on '/' (write one, or give --data.num_classes)");
  }
  Id attr(H5Aopen(file, "num_classes", H5P_DEFAULT), H5Aclose);
  Id type(H5Aget_type(attr), H5Tclose);
  int64_t n = 0;
  if (H5Tget_class(type) != H5T_INTEGER || H5Aread(attr, H5T_NATIVE_INT64, &n) < 0) {
    throw DataError(path + ": the num_classes attribute is not an integer");
  }
  if (n < 1) throw DataError(path + ": num_classes " + std::to_string(n) + " must be >= 1");
  return n;
}

}  // namespace

std::string hdf5_path_problem(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "does not exist";
  if (S_ISDIR(st.st_mode)) return "is a directory, not an HDF5 file";
  if (!S_ISREG(st.st_mode)) return "is not a regular file (a FIFO, device or socket)";
  return "";
}

struct Hdf5Images::Handles {
  Id file, dataset;
  hid_t memory_type;
};

Hdf5Images::Hdf5Images(const std::string& path, const std::string& split) : name_(path + ": " + split + "/images") {
  Id file = open_file(path);
  Id d = open_dataset(file, path, split + "/images");
  const auto dims = dims_of(d);
  if (dims.size() != 3 && dims.size() != 4) {
    throw DataError(name_ + " has shape " + dims_text(dims) + ", expected (N, C, H, W) or (N, H, W)");
  }
  for (size_t i = 1; i < dims.size(); ++i) {
    if (dims[i] < 1) throw DataError(name_ + " has shape " + dims_text(dims) + ": every image side must be >= 1");
  }
  rows_ = dims[0];
  shape_ = dims.size() == 4 ? std::vector<int64_t>{dims[1], dims[2], dims[3]} : std::vector<int64_t>{1, dims[1], dims[2]};
  Id type(H5Dget_type(d), H5Tclose);
  const auto cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  hid_t memory_type;
  if (cls == H5T_INTEGER && size == 1 && H5Tget_sign(type) == H5T_SGN_NONE) {
    dtype_ = torch::kUInt8, memory_type = H5T_NATIVE_UINT8;
  } else if (cls == H5T_FLOAT && size == 4) {
    dtype_ = torch::kFloat32, memory_type = H5T_NATIVE_FLOAT;
  } else {
    throw DataError(name_ + " has dtype " + type_text(type) + ", expected uint8 or float32");
  }
  h_ = std::make_unique<Handles>(Handles{std::move(file), std::move(d), memory_type});
}

Hdf5Images::~Hdf5Images() = default;

torch::Tensor Hdf5Images::read(const std::vector<int64_t>& wanted) const {
  // HDF5 returns a selection in file order: read the sorted distinct rows, then put them
  // in the order asked for.
  std::vector<int64_t> sorted = wanted;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const int64_t m = static_cast<int64_t>(sorted.size());
  auto out = torch::empty({m, shape_[0], shape_[1], shape_[2]}, dtype_);  // (m, C, H, W)
  if (m == 0) return out;
  if (sorted.front() < 0 || sorted.back() >= rows_) {
    throw DataError(name_ + ": row " + std::to_string(sorted.front() < 0 ? sorted.front() : sorted.back()) +
                    " outside [0, " + std::to_string(rows_) + ")");
  }
  Id file_space(H5Dget_space(h_->dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(file_space);
  std::vector<hsize_t> start(static_cast<size_t>(rank), 0), count(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(file_space, count.data(), nullptr);  // whole images: rows are set below
  bool ok = H5Sselect_none(file_space) >= 0;
  for (int64_t i = 0; i < m && ok;) {  // runs of consecutive rows: one block each
    int64_t j = i + 1;
    while (j < m && sorted[j] == sorted[j - 1] + 1) ++j;
    start[0] = static_cast<hsize_t>(sorted[i]);
    count[0] = static_cast<hsize_t>(j - i);
    ok = H5Sselect_hyperslab(file_space, H5S_SELECT_OR, start.data(), nullptr, count.data(), nullptr) >= 0;
    i = j;
  }
  const hsize_t elements = static_cast<hsize_t>(out.numel());
  Id memory_space(H5Screate_simple(1, &elements, nullptr), H5Sclose);
  ok = ok && H5Dread(h_->dataset, h_->memory_type, memory_space, file_space, H5P_DEFAULT, out.data_ptr()) >= 0;
  if (!ok) throw DataError(name_ + ": cannot read " + std::to_string(m) + " rows");
  if (static_cast<int64_t>(wanted.size()) == m && std::is_sorted(wanted.begin(), wanted.end())) return out;
  std::vector<int64_t> position(wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) {
    position[i] = std::lower_bound(sorted.begin(), sorted.end(), wanted[i]) - sorted.begin();
  }
  return out.index_select(0, torch::tensor(position, torch::kInt64));
}

torch::Tensor Hdf5Images::read_range(int64_t start, int64_t count) const {
  std::vector<int64_t> rows(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) rows[i] = start + i;
  return read(rows);
}

void load_hdf5(const std::string& path, int64_t classes, Dataset* train, Dataset* test, int64_t* num_classes) {
  Id file = open_file(path);
  *num_classes = classes > 0 ? classes : classes_attribute(file, path);
  for (const std::string split : {"train", "test"}) {
    Dataset& d = split == "train" ? *train : *test;
    d = Dataset{};
    d.file = std::make_shared<const Hdf5Images>(path, split);
    d.labels = read_labels(file, path, split);
    if (d.labels.size(0) != d.file->rows()) {
      throw DataError(path + ": " + split + "/labels holds " + std::to_string(d.labels.size(0)) + " labels for " +
                      std::to_string(d.file->rows()) + " images in " + split + "/images");
    }
    if (d.labels.size(0) == 0) throw DataError(path + ": the " + split + " split is empty");
    const int64_t* l = d.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < d.labels.size(0); ++i) {
      if (l[i] < 0 || l[i] >= *num_classes) {
        throw DataError(path + ": " + split + "/labels: label " + std::to_string(l[i]) + " at index " +
                        std::to_string(i) + " is outside [0, " + std::to_string(*num_classes) + ")" +
                        (classes > 0 ? " (--data.num_classes)" : " (the num_classes attribute)"));
      }
    }
  }
  if (train->file->image_shape() != test->file->image_shape() || train->file->dtype() != test->file->dtype()) {
    throw DataError(path + ": train and test images differ in shape or dtype (" +
                    dims_text(train->file->image_shape()) + " vs " + dims_text(test->file->image_shape()) + ")");
  }
}

}  // namespace sprout::data
