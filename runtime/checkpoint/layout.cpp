#include "runtime/checkpoint/layout.h"

#include "runtime/checkpoint/hdf5_attr.h"
#include "runtime/checkpoint/hdf5_table.h"
#include "runtime/checkpoint/hdf5_util.h"
#include "runtime/checkpoint/parallel_io.h"

namespace sprout::runtime {

namespace {

std::string where(const std::string& path, const std::string& object = "") {
  return object.empty() ? concat("checkpoint '", path, "'") : concat("checkpoint '", path, "', ", object);
}

// True if every component of `path` exists (H5Lexists fails on a missing intermediate).
bool path_exists(hid_t file, const std::string& path, const std::string& ctx) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (SPROUT_H5_CHECK(H5Lexists(file, prefix.c_str(), H5P_DEFAULT), ctx) <= 0) return false;
  }
  return true;
}

}  // namespace

DataOffsets create_checkpoint_layout(const std::string& path, const CheckpointContent& content, int world_size) {
  hdf5_init();
  H5Id lcpl = H5Id::plist(SPROUT_H5_CHECK(H5Pcreate(H5P_LINK_CREATE), where(path)));
  SPROUT_H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), where(path));
  H5Id dcpl = H5Id::plist(SPROUT_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), where(path)));
  // Storage is allocated now (its offset is known) and never filled: every byte is
  // written once, by the rank that owns its row.
  SPROUT_H5_CHECK(H5Pset_layout(dcpl, H5D_CONTIGUOUS), where(path));
  SPROUT_H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), where(path));
  SPROUT_H5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), where(path));
  H5Id dxpl = make_collective_transfer(MPI_COMM_NULL);
  H5Id fapl = make_file_access(MPI_COMM_NULL);
  H5Id file(SPROUT_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), where(path)), H5Fclose);

  Attributes root = content.root;
  root["format"] = std::string(kCheckpointFormat);
  root["format_version"] = kCheckpointFormatVersion;
  root["world_size"] = static_cast<int64_t>(world_size);
  root["sprout_version"] = std::string(kSproutVersion);
  root["checksum"] = std::string("crc32 (zlib) of each tensor's C-order little-endian bytes, attribute crc32");
  write_attributes(file, root, where(path));
  for (const auto& [name, attrs] : content.groups) {
    const std::string ctx = where(path, name);
    H5Id group = path_exists(file, name, ctx)
                     ? H5Id::group(SPROUT_H5_CHECK(H5Gopen2(file, name.c_str(), H5P_DEFAULT), ctx))
                     : H5Id::group(SPROUT_H5_CHECK(H5Gcreate2(file, name.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT), ctx));
    write_attributes(group, attrs, ctx);
  }

  DataOffsets offsets;
  for (const auto& [name, entry] : content.tensors) {
    const std::string ctx = where(path, "tensor " + name);
    SPROUT_CHECK(entry.value.defined(), CheckpointError, ctx, ": undefined tensor");
    const auto& value = entry.value;
    std::vector<hsize_t> dims(value.sizes().begin(), value.sizes().end());
    H5Id space = make_space(dims, ctx);
    H5Id dset = H5Id::dataset(SPROUT_H5_CHECK(
        H5Dcreate2(file, name.c_str(), h5_file_type(value.scalar_type(), ctx), space, lcpl, dcpl, H5P_DEFAULT), ctx));
    Attributes attrs = entry.attrs;
    attrs["crc32"] = int64_t{0};  // the agreed value replaces it (store_checksums)
    write_attributes(dset, attrs, ctx);
    const int64_t rows = value.dim() == 0 ? 1 : value.size(0);
    std::vector<int64_t> records;
    for (int r = 0; r < world_size; ++r) {
      const auto [first, count] = shard_rows(rows, r, world_size);
      records.push_back(first);
      records.push_back(count);
    }
    write_int_matrix(dset, "shard_rows", records, static_cast<hsize_t>(world_size), 2, ctx);
    const haddr_t at = value.numel() > 0 ? H5Dget_offset(dset) : HADDR_UNDEF;
    SPROUT_CHECK(value.numel() == 0 || at != HADDR_UNDEF, CheckpointError, ctx, ": no contiguous storage");
    offsets[name] = at == HADDR_UNDEF ? -1 : static_cast<int64_t>(at);
    dset.close(ctx);
  }
  for (const auto& [name, table] : content.tables) write_table(file, lcpl, dxpl, true, name, table, where(path, name));
  file.close(where(path));
  return offsets;
}

void store_checksums(const std::string& path, const std::map<std::string, uint32_t>& crc32) {
  hdf5_init();
  H5Id fapl = make_file_access(MPI_COMM_NULL);
  H5Id file(SPROUT_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl), where(path)), H5Fclose);
  for (const auto& [name, crc] : crc32) {
    const std::string ctx = where(path, "tensor " + name);
    H5Id dset = H5Id::dataset(SPROUT_H5_CHECK(H5Dopen2(file, name.c_str(), H5P_DEFAULT), ctx));
    H5Id attr = H5Id::attr(SPROUT_H5_CHECK(H5Aopen(dset, "crc32", H5P_DEFAULT), ctx));
    const int64_t value = crc;
    SPROUT_H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT64, &value), ctx);
    attr.close(ctx);
    dset.close(ctx);
  }
  file.close(where(path));
}

}  // namespace sprout::runtime
