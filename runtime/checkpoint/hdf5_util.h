// Thin, checked wrappers over the HDF5 C API used by checkpoints (runtime/checkpoint/).
//
// Every HDF5 call goes through SPROUT_H5_CHECK, which throws CheckpointError with the
// caller's context (file, tensor), file:line and HDF5's own error message. HDF5's automatic
// printing of error stacks is switched off (hdf5_init), so a failure is one line.
//
// H5Id owns one identifier. Closing a *file* opened with the MPI-IO driver is collective;
// H5Id::file() therefore does not close the file when it is destroyed while an exception
// propagates: that rank may be alone, and a lone collective close would wait forever.
// The exception then reaches main, which ends the job (Note [Error agreement]).
#pragma once

#include <hdf5.h>
#include <mpi.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace sprout::runtime {

// Switches off HDF5's error printing (once per process). Called by every entry point.
void hdf5_init();

// The innermost messages of HDF5's current error stack, "; "-joined ("" if empty).
std::string hdf5_error_message();

namespace detail {
[[noreturn]] void throw_h5(const char* call, const char* file, int line, const std::string& context);
template <typename T, typename Context>
T check_h5(T value, const char* call, const char* file, int line, const Context& context) {
  if (value < 0) throw_h5(call, file, line, context());
  return value;
}
}  // namespace detail

// Runs an HDF5 call; a negative result throws CheckpointError "<context>: <call> failed
// (file:line): <HDF5 message>". Returns the call's result (an hid_t, herr_t, htri_t...).
#define SPROUT_H5_CHECK(call, ...) \
  ::sprout::runtime::detail::check_h5((call), #call, __FILE__, __LINE__, [&] { return ::sprout::concat(__VA_ARGS__); })

class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer close) : id_(id), close_(close) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& o) noexcept : id_(o.id_), close_(o.close_), collective_(o.collective_) { o.id_ = -1; }
  H5Id& operator=(H5Id&& o) noexcept;
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight to the C API
  // Closes now; a failing close throws (closing a file writes its last metadata).
  void close(const std::string& context);
  void reset();
  // Closes now even while an exception propagates, ignoring errors: for collective
  // handles when every rank is known to be unwinding alike.
  void reset_collectively();

  static H5Id file(hid_t id) {
    H5Id h(id, H5Fclose);
    h.collective_ = true;
    return h;
  }
  static H5Id group(hid_t id) { return H5Id(id, H5Gclose); }
  static H5Id dataset(hid_t id) { return H5Id(id, H5Dclose); }
  static H5Id space(hid_t id) { return H5Id(id, H5Sclose); }
  static H5Id type(hid_t id) { return H5Id(id, H5Tclose); }
  static H5Id attr(hid_t id) { return H5Id(id, H5Aclose); }
  static H5Id plist(hid_t id) { return H5Id(id, H5Pclose); }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
  bool collective_ = false;
};

// File access for parallel I/O on `comm` (MPI-IO driver, collective metadata reads and
// writes, 1 MiB alignment of large datasets, metadata with checksums: format >= 1.8).
// comm == MPI_COMM_NULL: the default serial driver (tools, tests).
H5Id make_file_access(MPI_Comm comm);
// Dataset transfer: collective MPI-IO (or default when comm is MPI_COMM_NULL).
H5Id make_collective_transfer(MPI_Comm comm);

// Counts the dataset transfer just made with `dxpl` in `stats` (ReadStats, WriteStats):
// transfers, those HDF5 did not do collectively, and the OR of its reasons.
template <class Stats>
void record_transfer(hid_t dxpl, Stats& stats, const std::string& context) {
  uint32_t local = 0, global = 0;
  SPROUT_H5_CHECK(H5Pget_mpio_no_collective_cause(dxpl, &local, &global), context);
  ++stats.transfers;
  if (local != H5D_MPIO_COLLECTIVE || global != H5D_MPIO_COLLECTIVE) {
    ++stats.independent;
    stats.no_collective_cause |= local | global;
  }
}

// torch dtype <-> HDF5 type. The file type is little-endian; the memory type is native
// (the same bits on the little-endian hosts sprout supports, so no conversion happens and
// transfers stay collective). Unsupported dtypes throw CheckpointError naming `what`.
hid_t h5_file_type(torch::ScalarType dtype, const std::string& what);
hid_t h5_memory_type(torch::ScalarType dtype, const std::string& what);
// The torch dtype of a dataset's type; throws CheckpointError naming `what` if none fits.
torch::ScalarType torch_dtype_of(hid_t h5type, const std::string& what);

// A 1-D or N-D simple dataspace (scalar for an empty shape).
H5Id make_space(const std::vector<hsize_t>& dims, const std::string& what);
std::vector<hsize_t> space_dims(hid_t space, const std::string& what);

// Fixed-length string type of `size` bytes (>= 1), NUL-terminated, UTF-8.
H5Id make_string_type(size_t size);

}  // namespace sprout::runtime
