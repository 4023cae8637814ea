#include "runtime/checkpoint/hdf5_util.h"

#include <exception>
#include <mutex>

namespace sprout::runtime {

void hdf5_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

namespace {
herr_t collect_message(unsigned n, const H5E_error2_t* e, void* out) {
  auto* messages = static_cast<std::vector<std::string>*>(out);
  if (e->desc && *e->desc) messages->push_back(e->desc);
  else if (e->func_name) messages->push_back(std::string(e->func_name) + " failed");
  return 0;
}
}  // namespace

std::string hdf5_error_message() {
  std::vector<std::string> messages;
  // The outermost frames come last with H5E_WALK_UPWARD; the innermost say what happened.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_message, &messages);
  H5Eclear2(H5E_DEFAULT);
  std::string out;
  const size_t first = messages.size() > 3 ? messages.size() - 3 : 0;
  for (size_t i = messages.size(); i-- > first;) out += (out.empty() ? "" : "; ") + messages[i];
  // HDF5 embeds line breaks (MPI-IO messages, file names): an error is one line.
  for (size_t at = 0; (at = out.find_first_of("\r\n", at)) != std::string::npos;) {
    const size_t end = out.find_first_not_of(" \t\r\n", at);
    out.replace(at, (end == std::string::npos ? out.size() : end) - at, " ");
  }
  return out.empty() ? "no HDF5 error message" : out;
}

namespace detail {
void throw_h5(const char* call, const char* file, int line, const std::string& context) {
  const std::string message = hdf5_error_message();
  std::string where = file;
  const auto slash = where.rfind("/runtime/");
  if (slash != std::string::npos) where = where.substr(slash + 1);
  throw CheckpointError(concat(context, ": ", call, " failed (", where, ":", line, "): ", message));
}
}  // namespace detail

H5Id& H5Id::operator=(H5Id&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    collective_ = o.collective_;
    o.id_ = -1;
  }
  return *this;
}

void H5Id::close(const std::string& context) {
  if (id_ < 0) return;
  const hid_t id = id_;
  id_ = -1;
  SPROUT_H5_CHECK(close_(id), context);
}

void H5Id::reset() {
  if (id_ < 0) return;
  // See the header: a lone rank must not enter a collective close while unwinding.
  if (!(collective_ && std::uncaught_exceptions() > 0)) close_(id_);
  id_ = -1;
}

void H5Id::reset_collectively() {
  if (id_ < 0) return;
  close_(id_);
  H5Eclear2(H5E_DEFAULT);
  id_ = -1;
}

H5Id make_file_access(MPI_Comm comm) {
  hdf5_init();
  H5Id fapl = H5Id::plist(SPROUT_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), "file access"));
  // Superblock v2 / object header v2: metadata carries checksums, so corruption of the
  // file's structure is detected by HDF5 itself; h5py and h5dump read this format.
  SPROUT_H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), "file access");
  if (comm != MPI_COMM_NULL) {
    SPROUT_H5_CHECK(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "file access");
    // Every rank calls every metadata operation with the same arguments (a dataset made
    // on one rank only is the classic hang); with these, one rank reads metadata and
    // broadcasts it, and metadata is written collectively.
    SPROUT_H5_CHECK(H5Pset_all_coll_metadata_ops(fapl, true), "file access");
    SPROUT_H5_CHECK(H5Pset_coll_metadata_write(fapl, true), "file access");
  }
  // Datasets of 1 MiB or more start on 1 MiB boundaries (file-system stripes, pages).
  SPROUT_H5_CHECK(H5Pset_alignment(fapl, 1 << 20, 1 << 20), "file access");
  return fapl;
}

H5Id make_collective_transfer(MPI_Comm comm) {
  H5Id dxpl = H5Id::plist(SPROUT_H5_CHECK(H5Pcreate(H5P_DATASET_XFER), "transfer"));
  if (comm != MPI_COMM_NULL) SPROUT_H5_CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), "transfer");
  return dxpl;
}

hid_t h5_file_type(torch::ScalarType dtype, const std::string& what) {
  switch (dtype) {
    case torch::kFloat32: return H5T_IEEE_F32LE;
    case torch::kFloat64: return H5T_IEEE_F64LE;
    case torch::kInt64: return H5T_STD_I64LE;
    case torch::kInt32: return H5T_STD_I32LE;
    case torch::kInt16: return H5T_STD_I16LE;
    case torch::kInt8: return H5T_STD_I8LE;
    case torch::kUInt8: return H5T_STD_U8LE;
    default: break;
  }
  throw CheckpointError(concat(what, ": dtype ", dtype, " cannot be stored in a checkpoint"));
}

hid_t h5_memory_type(torch::ScalarType dtype, const std::string& what) {
  switch (dtype) {
    case torch::kFloat32: return H5T_NATIVE_FLOAT;
    case torch::kFloat64: return H5T_NATIVE_DOUBLE;
    case torch::kInt64: return H5T_NATIVE_INT64;
    case torch::kInt32: return H5T_NATIVE_INT32;
    case torch::kInt16: return H5T_NATIVE_INT16;
    case torch::kInt8: return H5T_NATIVE_INT8;
    case torch::kUInt8: return H5T_NATIVE_UINT8;
    default: break;
  }
  throw CheckpointError(concat(what, ": dtype ", dtype, " cannot be stored in a checkpoint"));
}

torch::ScalarType torch_dtype_of(hid_t h5type, const std::string& what) {
  const H5T_class_t cls = SPROUT_H5_CHECK(H5Tget_class(h5type), what);
  const size_t size = H5Tget_size(h5type);
  if (cls == H5T_FLOAT) {
    if (size == 4) return torch::kFloat32;
    if (size == 8) return torch::kFloat64;
  } else if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(h5type) == H5T_SGN_2;
    if (is_signed && size == 8) return torch::kInt64;
    if (is_signed && size == 4) return torch::kInt32;
    if (is_signed && size == 2) return torch::kInt16;
    if (is_signed && size == 1) return torch::kInt8;
    if (!is_signed && size == 1) return torch::kUInt8;
  }
  throw CheckpointError(concat(what, ": unsupported HDF5 element type (class ", static_cast<int>(cls), ", ", size,
                               " bytes)"));
}

H5Id make_space(const std::vector<hsize_t>& dims, const std::string& what) {
  if (dims.empty()) return H5Id::space(SPROUT_H5_CHECK(H5Screate(H5S_SCALAR), what));
  return H5Id::space(
      SPROUT_H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), what));
}

std::vector<hsize_t> space_dims(hid_t space, const std::string& what) {
  const int rank = SPROUT_H5_CHECK(H5Sget_simple_extent_ndims(space), what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) SPROUT_H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr), what);
  return dims;
}

H5Id make_string_type(size_t size) {
  H5Id t = H5Id::type(SPROUT_H5_CHECK(H5Tcopy(H5T_C_S1), "string type"));
  SPROUT_H5_CHECK(H5Tset_size(t, std::max<size_t>(size, 1)), "string type");
  SPROUT_H5_CHECK(H5Tset_strpad(t, H5T_STR_NULLTERM), "string type");
  SPROUT_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8), "string type");
  return t;
}

}  // namespace sprout::runtime
