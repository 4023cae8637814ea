#include "merge/checkpoint_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/checkpoint/writer.h"
#include "runtime/error.h"
#include "runtime/checkpoint/hdf5_attr.h"
#include "runtime/checkpoint/hdf5_util.h"
#include "runtime/regular_file.h"
#include "runtime/tensor_util.h"

namespace sprout::merge {

using runtime::CheckpointContent;

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "/model/fc1/weight" -> "fc1.weight"; "" if `path` is not under /model or /buffers.
std::string tensor_name(const std::string& path) {
  for (const char* root : {"/model/", "/buffers/"}) {
    if (starts_with(path, root)) return runtime::path_to_name(path.substr(std::strlen(root)));
  }
  return "";
}

TensorRole role_of(const std::string& path, torch::ScalarType dtype) {
  if (starts_with(path, "/model/")) return TensorRole::Parameter;
  return c10::isFloatingType(dtype) ? TensorRole::Statistic : TensorRole::Counter;
}

std::string tensor_path(const NamedTensor& t) {
  return (t.role == TensorRole::Parameter ? "/model/" : "/buffers/") + runtime::name_to_path(t.name);
}

bool make_dirs(const std::string& dir) {
  if (dir.empty()) return true;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  const auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !make_dirs(dir.substr(0, slash))) return false;
  return ::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST;
}

}  // namespace

TensorBundle bundle_from_checkpoint(const CheckpointContent& content, const std::string& where) {
  TensorBundle out;
  for (const char* root : {"/model/", "/buffers/"}) {
    for (const auto& [path, t] : content.tensors) {  // std::map: path order
      if (!starts_with(path, root)) continue;
      SPROUT_CHECK(t.error.empty(), CheckpointError, t.error);
      out.push_back({tensor_name(path), role_of(path, t.value.scalar_type()), t.value});
    }
  }
  SPROUT_CHECK(!out.empty() && out.front().role == TensorRole::Parameter, CheckpointError, where,
               ": no model tensors (/model)");
  return out;
}

std::string architecture_of(const CheckpointContent& content, const std::string& where) {
  const auto* arch = content.find_group("/architecture");
  SPROUT_CHECK(arch, CheckpointError, where, ": missing group /architecture");
  return runtime::attr_string(*arch, "spec", where + " /architecture");
}

CheckpointContent merged_checkpoint(const CheckpointContent& base, const TensorBundle& merged,
                                    const runtime::Attributes& merge_attrs) {
  CheckpointContent out = base;
  for (const auto& t : merged) {
    auto it = out.tensors.find(tensor_path(t));
    SPROUT_CHECK(it != out.tensors.end(), Error, "merged_checkpoint: the base has no tensor ", tensor_path(t));
    it->second.value = t.value;
    it->second.error.clear();
  }
  for (auto& [path, t] : out.tensors) {
    if (starts_with(path, "/optimizer/") && path.substr(path.find_last_of('/') + 1) != "lr_scale") {
      t.value = torch::zeros_like(t.value);
    }
  }
  for (auto& [path, attrs] : out.groups) {
    if (starts_with(path, "/optimizer/") && attrs.count("step")) attrs["step"] = int64_t{0};
  }
  out.root["step"] = int64_t{0};
  out.root["epoch"] = int64_t{0};
  out.root["tag"] = std::string("merged");
  auto data = out.groups.find("/data");
  if (data != out.groups.end()) {
    data->second["epoch"] = int64_t{0};
    data->second["offset"] = int64_t{0};
  }
  out.groups["/merge"] = merge_attrs;
  return out;
}

void write_checkpoint_atomically(runtime::Communicator& comm, const std::string& path, const CheckpointContent& content) {
  const auto slash = path.find_last_of('/');
  int64_t ok = 1;
  if (comm.rank() == 0) ok = make_dirs(slash == std::string::npos ? "" : path.substr(0, slash)) ? 1 : 0;
  ok = runtime::allreduce_int(comm, ok, runtime::ReduceOp::Min);
  SPROUT_CHECK(ok == 1, CheckpointError, "cannot create the directory of '", path, "': ", std::strerror(errno));
  const std::string tmp = path + ".tmp";
  runtime::write_checkpoint_file(comm, tmp, content);
  runtime::allreduce_int(comm, 1, runtime::ReduceOp::Min);  // every rank closed the file
  if (comm.rank() == 0) ok = std::rename(tmp.c_str(), path.c_str()) == 0 ? 1 : 0;
  ok = runtime::allreduce_int(comm, ok, runtime::ReduceOp::Min);
  SPROUT_CHECK(ok == 1, CheckpointError, "cannot rename '", tmp, "' to '", path, "'");
}

// --- CheckpointStream --------------------------------------------------------------------

namespace {

struct Listing {
  std::vector<std::string> datasets;
};

herr_t list_dataset(hid_t, const char* name, const H5O_info_t* info, void* out) {
  if (info->type == H5O_TYPE_DATASET) static_cast<Listing*>(out)->datasets.push_back(std::string("/") + name);
  return 0;
}

}  // namespace

CheckpointStream::CheckpointStream(const std::string& path) : path_(path) {
  runtime::hdf5_init();
  const std::string where = concat("checkpoint '", path, "'");
  const std::string kind = runtime::why_not_regular_file(path);  // a FIFO would block H5Fopen
  SPROUT_CHECK(kind.empty(), CheckpointError, where, " ", kind);
  runtime::H5Id fapl = runtime::make_file_access(MPI_COMM_NULL);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  SPROUT_CHECK(id >= 0, CheckpointError, where, ": not a readable HDF5 file: ", runtime::hdf5_error_message());
  file_ = id;
  root_ = runtime::read_attributes(id, where);
  auto format = root_.find("format");
  const auto* text = format == root_.end() ? nullptr : std::get_if<std::string>(&format->second);
  SPROUT_CHECK(text && *text == runtime::kCheckpointFormat, CheckpointError, where, ": not a sprout checkpoint");
  {
    runtime::H5Id arch = runtime::H5Id::group(SPROUT_H5_CHECK(H5Gopen2(id, "/architecture", H5P_DEFAULT), where,
                                                              ": missing group /architecture"));
    architecture_ = runtime::attr_string(runtime::read_attributes(arch, where), "spec", where + " /architecture");
  }
  Listing listing;
  SPROUT_H5_CHECK(H5Ovisit2(id, H5_INDEX_NAME, H5_ITER_INC, list_dataset, &listing, H5O_INFO_BASIC), where,
                  " listing objects");
  for (const char* root : {"/model/", "/buffers/"}) {
    for (const auto& p : listing.datasets) {  // name order
      if (!starts_with(p, root)) continue;
      const std::string ctx = concat(where, ", tensor ", p);
      runtime::H5Id dset = runtime::H5Id::dataset(SPROUT_H5_CHECK(H5Dopen2(id, p.c_str(), H5P_DEFAULT), ctx));
      runtime::H5Id type = runtime::H5Id::type(SPROUT_H5_CHECK(H5Dget_type(dset), ctx));
      runtime::H5Id space = runtime::H5Id::space(SPROUT_H5_CHECK(H5Dget_space(dset), ctx));
      StreamedTensor t;
      t.path = p;
      t.name = tensor_name(p);
      t.dtype = runtime::torch_dtype_of(type, ctx);
      t.role = role_of(p, t.dtype);
      for (auto d : runtime::space_dims(space, ctx)) t.shape.push_back(static_cast<int64_t>(d));
      const auto attrs = runtime::read_attributes(dset, ctx);
      t.crc32 = static_cast<uint32_t>(runtime::attr_int(attrs, "crc32", ctx));
      tensors_.push_back(std::move(t));
    }
  }
  SPROUT_CHECK(!tensors_.empty() && tensors_.front().role == TensorRole::Parameter, CheckpointError, where,
               ": no model tensors (/model)");
}

CheckpointStream::~CheckpointStream() {
  if (file_ >= 0) H5Fclose(static_cast<hid_t>(file_));
}

CheckpointStream::CheckpointStream(CheckpointStream&& o) noexcept
    : path_(std::move(o.path_)), file_(o.file_), tensors_(std::move(o.tensors_)),
      architecture_(std::move(o.architecture_)), root_(std::move(o.root_)) {
  o.file_ = -1;
}

torch::Tensor CheckpointStream::read(const StreamedTensor& t) const {
  const std::string ctx = concat("checkpoint '", path_, "', tensor ", t.path);
  runtime::H5Id dset = runtime::H5Id::dataset(SPROUT_H5_CHECK(H5Dopen2(file_, t.path.c_str(), H5P_DEFAULT), ctx));
  auto out = torch::empty(t.shape, torch::dtype(t.dtype));
  if (out.numel() > 0) {
    SPROUT_H5_CHECK(H5Dread(dset, runtime::h5_memory_type(t.dtype, ctx), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                            out.data_ptr()),
                    ctx);
  }
  const uint32_t crc = runtime::tensor_crc32(out);
  SPROUT_CHECK(crc == t.crc32, CheckpointError, ctx, ": checksum mismatch (stored crc32 ", t.crc32, ", data has ",
               crc, "): the file is corrupt");
  return out;
}

std::string CheckpointStream::content_checksum() const {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over "name:crc32;"
  for (const auto& t : tensors_) {
    for (unsigned char c : concat(t.name, ':', t.crc32, ';')) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void require_same_model(const CheckpointStream& base, const CheckpointStream& expert) {
  const std::string what = concat("expert '", expert.path(), "'");
  SPROUT_CHECK(expert.architecture() == base.architecture(), ConfigError, what, " has architecture '",
               expert.architecture(), "', the base '", base.path(), "' has '", base.architecture(), "'");
  const auto& a = base.tensors();
  const auto& b = expert.tensors();
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    SPROUT_CHECK(i < b.size(), ConfigError, what, ": tensor ", a[i].path, " is missing");
    SPROUT_CHECK(i < a.size(), ConfigError, what, ": tensor ", b[i].path, " is not in the base");
    SPROUT_CHECK(a[i].path == b[i].path, ConfigError, what, ": tensor ", a[i].path < b[i].path ? a[i].path : b[i].path,
                 a[i].path < b[i].path ? " is missing" : " is not in the base");
    SPROUT_CHECK(a[i].dtype == b[i].dtype && a[i].shape == b[i].shape, ConfigError, what, ": tensor ", b[i].path,
                 " is ", runtime::shape_string(b[i].shape), " ", b[i].dtype, ", in the base ",
                 runtime::shape_string(a[i].shape), " ", a[i].dtype);
  }
}

}  // namespace sprout::merge
