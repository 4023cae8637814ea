#include "runtime/checkpoint/verify.h"

#include <cstring>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/hdf5_attr.h"
#include "runtime/checkpoint/hdf5_table.h"
#include "runtime/checkpoint/hdf5_util.h"
#include "runtime/regular_file.h"

namespace sprout::runtime {

namespace {

herr_t list_dataset(hid_t, const char* name, const H5O_info_t* info, void* out) {
  if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(out)->push_back(std::string("/") + name);
  return 0;
}

void verify(const std::string& path) {
  const std::string where = concat("checkpoint '", path, "'");
  const std::string kind = why_not_regular_file(path);
  SPROUT_CHECK(kind.empty(), CheckpointError, where, " ", kind);
  H5Id fapl = make_file_access(MPI_COMM_NULL);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  SPROUT_CHECK(id >= 0, CheckpointError, where, ": not a readable HDF5 file: ", hdf5_error_message());
  H5Id file(id, H5Fclose);  // serial: closing alone is safe
  const Attributes root = read_attributes(file, where);
  auto format = root.find("format");
  const auto* text = format == root.end() ? nullptr : std::get_if<std::string>(&format->second);
  SPROUT_CHECK(text && *text == kCheckpointFormat, CheckpointError, where, ": not a sprout checkpoint");
  const int64_t version = attr_int(root, "format_version", where);
  SPROUT_CHECK(version >= 1 && version <= kCheckpointFormatVersion, CheckpointError, where, ": format_version ",
               version, " is not supported");
  std::vector<std::string> datasets;
  SPROUT_H5_CHECK(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, list_dataset, &datasets, H5O_INFO_BASIC), where,
                  " listing objects");
  for (const auto& name : datasets) {
    const std::string ctx = concat(where, ", tensor ", name);
    H5Id dset = H5Id::dataset(SPROUT_H5_CHECK(H5Dopen2(file, name.c_str(), H5P_DEFAULT), ctx));
    if (is_table(dset, ctx)) continue;
    const Attributes attrs = read_attributes(dset, ctx);
    const auto stored = static_cast<uint32_t>(attr_int(attrs, "crc32", ctx));
    H5Id type = H5Id::type(SPROUT_H5_CHECK(H5Dget_type(dset), ctx));
    const auto dtype = torch_dtype_of(type, ctx);
    H5Id space = H5Id::space(SPROUT_H5_CHECK(H5Dget_space(dset), ctx));
    const auto dims = space_dims(space, ctx);
    auto value = torch::empty(std::vector<int64_t>(dims.begin(), dims.end()), torch::dtype(dtype));
    if (value.numel() > 0) {
      SPROUT_H5_CHECK(H5Dread(dset, h5_memory_type(dtype, ctx), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data_ptr()),
                      ctx);
    }
    SPROUT_CHECK(tensor_crc32(value) == stored, CheckpointError, ctx, ": checksum mismatch: the file is corrupt");
  }
}

}  // namespace

std::string checkpoint_file_problem(const std::string& path) {
  hdf5_init();
  try {
    verify(path);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace sprout::runtime
