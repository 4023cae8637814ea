#include "runtime/checkpoint/reader.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "runtime/checkpoint/parallel_io.h"
#include "runtime/checkpoint/hdf5_attr.h"
#include "runtime/checkpoint/hdf5_table.h"
#include "runtime/checkpoint/hdf5_util.h"
#include "runtime/regular_file.h"

namespace sprout::runtime {

namespace {

struct Listing {
  std::vector<std::string> groups, datasets;
};

herr_t list_object(hid_t, const char* name, const H5O_info_t* info, void* out) {
  auto* l = static_cast<Listing*>(out);
  if (std::strcmp(name, ".") == 0) return 0;
  if (info->type == H5O_TYPE_GROUP) l->groups.push_back(std::string("/") + name);
  else if (info->type == H5O_TYPE_DATASET) l->datasets.push_back(std::string("/") + name);
  return 0;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

class Reader {
 public:
  Reader(Communicator& comm, const std::string& path, const ReadOptions& options)
      : comm_(comm), path_(path), options_(options), mpi_(mpi_comm_of(comm)), dxpl_(make_collective_transfer(mpi_)) {}

  CheckpointContent read() {
    const auto t0 = std::chrono::steady_clock::now();
    // A FIFO or a device would block or never end inside H5Fopen: regular files only.
    const std::string kind = why_not_regular_file(path_);
    const bool here = kind.empty();
    const bool everywhere = allreduce_int(comm_, here ? 1 : 0, ReduceOp::Min) == 1;
    SPROUT_CHECK(everywhere, CheckpointError, where(), here ? " does not exist on some rank" : " " + kind);
    {
      IoGuard guard(comm_, concat("opening checkpoint ", path_));
      H5Id fapl = make_file_access(mpi_);
      const hid_t id = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, fapl);
      if (id < 0) {
        throw CheckpointError(concat(where(), ": not a readable HDF5 file (truncated, corrupt or another format): ",
                                     hdf5_error_message()));
      }
      file_ = H5Id::file(id);
    }
    try {
      CheckpointContent out = read_open_file();
      IoGuard guard(comm_, concat("closing checkpoint ", path_));
      file_.close(where());
      stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return out;
    } catch (const CheckpointError&) {
      // Errors after the open are agreed by every rank (checkpoint.h), so the collective
      // close is safe; a reader may go on to another file.
      file_.reset_collectively();
      throw;
    }
  }

  ReadStats stats() const { return stats_; }

 private:
  std::string where(const std::string& object = "") const {
    return object.empty() ? concat("checkpoint '", path_, "'") : concat("checkpoint '", path_, "', ", object);
  }

  CheckpointContent read_open_file() {
    CheckpointContent out;
    out.root = read_attributes(file_, where());
    auto format = out.root.find("format");
    SPROUT_CHECK(format != out.root.end(), CheckpointError, where(),
                 ": not a sprout checkpoint (no root attribute 'format')");
    const auto* text = std::get_if<std::string>(&format->second);
    SPROUT_CHECK(text && *text == kCheckpointFormat, CheckpointError, where(), ": not a sprout checkpoint (format '",
                 attr_text(format->second), "', expected '", kCheckpointFormat, "')");
    const int64_t version = attr_int(out.root, "format_version", where());
    SPROUT_CHECK(version >= 1 && version <= kCheckpointFormatVersion, CheckpointError, where(), ": format_version ",
                 version, " is not supported (this sprout reads version ", kCheckpointFormatVersion,
                 version > kCheckpointFormatVersion ? "; written by a newer sprout?)" : ")");

    Listing listing;
    SPROUT_H5_CHECK(H5Ovisit2(file_, H5_INDEX_NAME, H5_ITER_INC, list_object, &listing, H5O_INFO_BASIC),
                    where(), " listing objects");
    for (const auto& name : listing.groups) {
      H5Id group = H5Id::group(SPROUT_H5_CHECK(H5Gopen2(file_, name.c_str(), H5P_DEFAULT), where(name)));
      out.groups[name] = read_attributes(group, where(name));
    }
    for (const auto& name : listing.datasets) {
      H5Id dset = H5Id::dataset(SPROUT_H5_CHECK(H5Dopen2(file_, name.c_str(), H5P_DEFAULT), where(name)));
      if (is_table(dset, where(name))) {
        IoGuard guard(comm_, concat("reading ", name, " of ", path_));
        out.tables[name] = read_table(dset, dxpl_, where(name));
      } else {
        out.tensors[name] = read_tensor(dset, name);
      }
    }
    return out;
  }

  CheckpointTensor read_tensor(hid_t dset, const std::string& name) {
    const std::string ctx = where("tensor " + name);
    IoGuard guard(comm_, concat("reading ", name, " of ", path_));
    CheckpointTensor entry;
    entry.attrs = read_attributes(dset, ctx);
    H5Id type = H5Id::type(SPROUT_H5_CHECK(H5Dget_type(dset), ctx));
    const auto dtype = torch_dtype_of(type, ctx);
    H5Id fspace = H5Id::space(SPROUT_H5_CHECK(H5Dget_space(dset), ctx));
    const auto dims = space_dims(fspace, ctx);
    std::vector<int64_t> shape(dims.begin(), dims.end());
    auto full = torch::empty(shape, torch::dtype(dtype));
    const bool scalar = dims.empty();
    const int world = comm_.size(), rank = comm_.rank();
    const int64_t rows = scalar ? 1 : shape[0];
    const int64_t row_bytes = rows > 0 ? full.numel() * full.element_size() / rows : 0;
    const auto [first, count] = shard_rows(rows, rank, world);

    // Local failures become `ok = false` and are agreed below, so every rank decides alike.
    std::string local_error;
    uint32_t piece_crc = tensor_crc32(torch::empty({0}));
    if (full.numel() > 0) {
      try {
        H5Id mspace = make_space(dims, ctx);
        if (count == 0) {
          SPROUT_H5_CHECK(H5Sselect_none(fspace), ctx);
          SPROUT_H5_CHECK(H5Sselect_none(mspace), ctx);
        } else if (!scalar) {
          std::vector<hsize_t> start(dims.size(), 0), block = dims;
          start[0] = static_cast<hsize_t>(first);
          block[0] = static_cast<hsize_t>(count);
          SPROUT_H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr),
                          ctx);
          mspace = make_space(block, ctx);
        }
        auto piece = scalar ? full : full.narrow(0, first, count);
        SPROUT_H5_CHECK(H5Dread(dset, h5_memory_type(dtype, ctx), mspace, fspace, dxpl_, piece.data_ptr()), ctx);
        record_transfer(ctx);
        if (count > 0) piece_crc = tensor_crc32(piece);
      } catch (const CheckpointError& e) {
        local_error = e.what();
      }
    }
    const auto agreed = agree_crc32(comm_, piece_crc, count * row_bytes, local_error.empty());
    auto stored = entry.attrs.find("crc32");
    if (!agreed.all_ok) {
      entry.error = local_error.empty() ? concat(ctx, ": unreadable on another rank") : local_error;
    } else if (stored == entry.attrs.end() || !std::holds_alternative<int64_t>(stored->second)) {
      entry.error = concat(ctx, ": no crc32 checksum attribute");
    } else {
      entry.crc32 = static_cast<uint32_t>(std::get<int64_t>(stored->second));
      if (entry.crc32 != agreed.crc) {
        entry.error = concat(ctx, ": checksum mismatch (stored crc32 ", hex32(entry.crc32), ", data has ",
                             hex32(agreed.crc), "): the file is corrupt");
      }
    }
    entry.attrs.erase("crc32");
    entry.attrs.erase("shard_rows");
    if (!entry.error.empty() && options_.stop_at_first_error) throw CheckpointError(entry.error);
    if (world > 1 && full.numel() > 0) gather_rows(full, rows, row_bytes);
    entry.value = full;
    ++stats_.tensors;
    stats_.bytes += full.numel() * full.element_size();
    return entry;
  }

  // Every rank read its own rows of `full`; afterwards every rank holds all of them.
  void gather_rows(torch::Tensor& full, int64_t rows, int64_t row_bytes) {
    const int world = comm_.size();
    int64_t widest = 0;
    for (int r = 0; r < world; ++r) widest = std::max(widest, shard_rows(rows, r, world).second * row_bytes);
    auto* bytes = static_cast<uint8_t*>(full.data_ptr());
    const auto [first, count] = shard_rows(rows, comm_.rank(), world);
    auto mine = torch::zeros({widest}, torch::kUInt8);
    std::memcpy(mine.data_ptr(), bytes + first * row_bytes, static_cast<size_t>(count * row_bytes));
    auto all = comm_.allgather(mine).contiguous();  // (W, widest)
    const auto* src = all.data_ptr<uint8_t>();
    for (int r = 0; r < world; ++r) {
      const auto [f, c] = shard_rows(rows, r, world);
      std::memcpy(bytes + f * row_bytes, src + r * widest, static_cast<size_t>(c * row_bytes));
    }
  }

  void record_transfer(const std::string& ctx) { runtime::record_transfer(dxpl_, stats_, ctx); }

  Communicator& comm_;
  std::string path_;
  ReadOptions options_;
  MPI_Comm mpi_;
  H5Id dxpl_, file_;
  ReadStats stats_;
};

}  // namespace

CheckpointContent read_checkpoint_file(Communicator& comm, const std::string& path, const ReadOptions& options,
                                       ReadStats* stats) {
  hdf5_init();
  Reader reader(comm, path, options);
  auto out = reader.read();
  if (stats) *stats = reader.stats();
  return out;
}

}  // namespace sprout::runtime
