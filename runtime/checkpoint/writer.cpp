#include "runtime/checkpoint/writer.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "runtime/checkpoint/parallel_io.h"
#include "runtime/checkpoint/hdf5_attr.h"
#include "runtime/checkpoint/hdf5_table.h"
#include "runtime/checkpoint/hdf5_util.h"
#include "runtime/comm/mpi_communicator.h"

namespace sprout::runtime {

namespace {

// True if every component of `path` exists (H5Lexists fails on a missing intermediate).
bool path_exists(hid_t file, const std::string& path, const std::string& where) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (SPROUT_H5_CHECK(H5Lexists(file, prefix.c_str(), H5P_DEFAULT), where) <= 0) return false;
  }
  return true;
}

H5Id link_creation() {
  H5Id lcpl = H5Id::plist(SPROUT_H5_CHECK(H5Pcreate(H5P_LINK_CREATE), "link creation"));
  SPROUT_H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), "link creation");
  return lcpl;
}

// The first floating tensor (in path order) with an Inf or NaN, or "".
std::string first_non_finite(const CheckpointContent& content) {
  for (const auto& [name, entry] : content.tensors) {
    const auto& v = entry.value;
    if (v.defined() && v.is_floating_point() && v.numel() > 0 && !torch::isfinite(v).all().item<bool>()) return name;
  }
  return "";
}

class Writer {
 public:
  Writer(Communicator& comm, const std::string& path) : comm_(comm), path_(path) {
    mpi_ = mpi_comm_of(comm);
    dxpl_ = make_collective_transfer(mpi_);
    lcpl_ = link_creation();
    dcpl_ = H5Id::plist(SPROUT_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), where()));
    // No fill values: every element is written once, by the rank that owns its row.
    SPROUT_H5_CHECK(H5Pset_fill_time(dcpl_, H5D_FILL_TIME_NEVER), where());
    SPROUT_H5_CHECK(H5Pset_alloc_time(dcpl_, H5D_ALLOC_TIME_EARLY), where());
  }

  WriteStats write(const CheckpointContent& content) {
    const auto t0 = std::chrono::steady_clock::now();
    // Tensors are replicated, so every rank refuses alike, before the file exists.
    const std::string bad = first_non_finite(content);
    SPROUT_CHECK(bad.empty(), CheckpointError, where(), ": tensor ", bad,
                 " holds Inf or NaN values; a model that is not finite is not written");
    {
      IoGuard guard(comm_, concat("creating checkpoint ", path_));
      H5Id fapl = make_file_access(mpi_);
      file_ = H5Id::file(SPROUT_H5_CHECK(H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), where()));
      Attributes root = content.root;
      root["format"] = std::string(kCheckpointFormat);
      root["format_version"] = kCheckpointFormatVersion;
      root["world_size"] = static_cast<int64_t>(comm_.size());
      root["sprout_version"] = std::string(kSproutVersion);
      root["checksum"] = std::string("crc32 (zlib) of each tensor's C-order little-endian bytes, attribute crc32");
      write_attributes(file_, root, where());
      for (const auto& [group, attrs] : content.groups) write_group(group, attrs);
    }
    for (const auto& [name, tensor] : content.tensors) write_tensor(name, tensor);
    for (const auto& [name, table] : content.tables) {
      IoGuard guard(comm_, concat("writing ", name, " of ", path_));
      try {
        write_table(file_, lcpl_, dxpl_, comm_.rank() == 0, name, table, where(name));
      } catch (const CheckpointError& e) {
        keep_local_error(e);
      }
    }
    throw_if_any_failed(allreduce_int(comm_, local_error_.empty() ? 1 : 0, ReduceOp::Min) == 1);
    {
      IoGuard guard(comm_, concat("closing checkpoint ", path_));
      try {
        file_.close(where());
      } catch (const CheckpointError& e) {
        // The other ranks may be waiting inside HDF5's close for this one: no agreement
        // is possible, so this rank ends the job now with the real cause.
        MpiEnvironment::abort_job(concat("sprout: rank ", comm_.rank(), ": ", e.what()), 1);
      }
    }
    stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return stats_;
  }

 private:
  std::string where(const std::string& object = "") const {
    return object.empty() ? concat("checkpoint '", path_, "'") : concat("checkpoint '", path_, "', ", object);
  }

  void write_group(const std::string& name, const Attributes& attrs) {
    const std::string ctx = where(name);
    H5Id group = path_exists(file_, name, ctx)
                     ? H5Id::group(SPROUT_H5_CHECK(H5Gopen2(file_, name.c_str(), H5P_DEFAULT), ctx))
                     : H5Id::group(SPROUT_H5_CHECK(H5Gcreate2(file_, name.c_str(), lcpl_, H5P_DEFAULT, H5P_DEFAULT), ctx));
    write_attributes(group, attrs, ctx);
  }

  void write_tensor(const std::string& name, const CheckpointTensor& entry) {
    const std::string ctx = where("tensor " + name);
    IoGuard guard(comm_, concat("writing ", name, " of ", path_));
    SPROUT_CHECK(entry.value.defined(), CheckpointError, ctx, ": undefined tensor");
    const auto value = entry.value.detach().to(torch::kCPU).contiguous();
    const int world = comm_.size(), rank = comm_.rank();
    const bool scalar = value.dim() == 0;
    const int64_t rows = scalar ? 1 : value.size(0);
    const auto [first, count] = shard_rows(rows, rank, world);
    const auto piece = scalar ? (count ? value : torch::empty({0}, value.options())) : value.narrow(0, first, count);
    const int64_t piece_bytes = piece.numel() * piece.element_size();
    const auto crc = agree_crc32(comm_, tensor_crc32(piece), piece_bytes, local_error_.empty());
    throw_if_any_failed(crc.all_ok);

    std::vector<hsize_t> dims(value.sizes().begin(), value.sizes().end());
    H5Id fspace = make_space(dims, ctx);
    H5Id dset = H5Id::dataset(SPROUT_H5_CHECK(
        H5Dcreate2(file_, name.c_str(), h5_file_type(value.scalar_type(), ctx), fspace, lcpl_, dcpl_, H5P_DEFAULT),
        ctx));
    try {
      write_rows(dset, fspace, value, piece, dims, first, count, scalar, ctx);
      Attributes attrs = entry.attrs;
      attrs["crc32"] = static_cast<int64_t>(crc.crc);
      write_attributes(dset, attrs, ctx);
      std::vector<int64_t> records;
      for (int r = 0; r < world; ++r) {
        const auto [f, c] = shard_rows(rows, r, world);
        records.push_back(f);
        records.push_back(c);
      }
      write_int_matrix(dset, "shard_rows", records, static_cast<hsize_t>(world), 2, ctx);
      dset.close(ctx);
    } catch (const CheckpointError& e) {
      keep_local_error(e);  // agreed at the next tensor or before the close
    }
    ++stats_.tensors;
    stats_.bytes += value.numel() * value.element_size();
  }

  // This rank's rows of `value` (the whole of a 0-d tensor on the rank that owns it), in
  // one collective transfer.
  void write_rows(hid_t dset, hid_t fspace, const torch::Tensor& value, const torch::Tensor& piece,
                  const std::vector<hsize_t>& dims, int64_t first, int64_t count, bool scalar, const std::string& ctx) {
    if (value.numel() > 0) {
      H5Id mspace = make_space(dims, ctx);
      if (scalar) {
        if (!count) {
          SPROUT_H5_CHECK(H5Sselect_none(fspace), ctx);
          SPROUT_H5_CHECK(H5Sselect_none(mspace), ctx);
        }
      } else if (count == 0) {
        SPROUT_H5_CHECK(H5Sselect_none(fspace), ctx);
        SPROUT_H5_CHECK(H5Sselect_none(mspace), ctx);
      } else {
        std::vector<hsize_t> start(dims.size(), 0), block = dims;
        start[0] = static_cast<hsize_t>(first);
        block[0] = static_cast<hsize_t>(count);
        SPROUT_H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr), ctx);
        mspace = make_space(block, ctx);
      }
      // The buffer of an empty selection is never read, but must not be null.
      const void* data = count ? piece.data_ptr() : value.data_ptr();
      SPROUT_H5_CHECK(H5Dwrite(dset, h5_memory_type(value.scalar_type(), ctx), mspace, fspace, dxpl_, data), ctx);
      record_transfer(ctx);
    }
  }

  // A local I/O failure (a full disk, EIO) in a transfer every rank completed must not
  // leave the other ranks waiting in the next collective: it is kept, every rank learns
  // of it at the next agreement (the next tensor's checksum allgather, or the allreduce
  // before the close), and all throw the lowest failing rank's message.
  void keep_local_error(const CheckpointError& e) {
    if (local_error_.empty()) local_error_ = e.what() + full_disk_note();
  }

  // HDF5 reports a failed write as "file write failed", without the system's reason;
  // a full file system is the common one, and is named when it is the case.
  std::string full_disk_note() const {
    const int err = errno;
    const auto slash = path_.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    struct statvfs fs;
    if (::statvfs(dir.c_str(), &fs) != 0) return "";
    const auto free_bytes = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
    if (err != ENOSPC && free_bytes >= (1ull << 20)) return "";
    return concat(": No space left on device ('", dir, "' has ", free_bytes, " bytes free)");
  }
  void throw_if_any_failed(bool all_ok) {
    if (all_ok) return;
    const int64_t first = allreduce_int(comm_, local_error_.empty() ? comm_.size() : comm_.rank(), ReduceOp::Min);
    file_.abandon();  // a collective close after a failed write never returns (hdf5_util.h)
    if (comm_.rank() == first) {
      std::fprintf(stderr, "sprout: rank %d: %s\n", comm_.rank(), local_error_.c_str());
      std::fflush(stderr);
    }
    if (comm_.rank() == 0) ::unlink(path_.c_str());  // give the space back
    comm_.barrier();  // the line is out before the job ends
    MpiEnvironment::abort_job("", 1);
  }

  void record_transfer(const std::string& ctx) { runtime::record_transfer(dxpl_, stats_, ctx); }

  Communicator& comm_;
  std::string path_;
  MPI_Comm mpi_;
  H5Id dxpl_, lcpl_, dcpl_, file_;
  WriteStats stats_;
  std::string local_error_;  // this rank's first failed transfer, not yet agreed
};

}  // namespace

WriteStats write_checkpoint_file(Communicator& comm, const std::string& path, const CheckpointContent& content) {
  hdf5_init();
  return Writer(comm, path).write(content);
}

}  // namespace sprout::runtime
