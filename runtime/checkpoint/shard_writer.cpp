#include "runtime/checkpoint/shard_writer.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <libdeflate.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "runtime/error.h"
#include "runtime/fault_injection.h"

namespace sprout::runtime {

namespace {

// Each block is checked, hashed and written while it is still in the CPU's cache: three
// passes over the bytes cost little more than one. Large enough that the system call
// overhead vanishes.
constexpr size_t kBlock = 1u << 20;

// Whether every element of a floating block is finite: all exponent bits set means Inf or
// NaN. Integer arithmetic the compiler vectorises — no temporary tensor, no intra-op
// thread pool competing with training.
template <class Bits>
bool block_finite(const char* data, size_t n, Bits exponent) {
  const size_t count = n / sizeof(Bits);
  Bits bad = 0;
  for (size_t i = 0; i < count; ++i) {
    Bits v;
    std::memcpy(&v, data + i * sizeof(Bits), sizeof(Bits));
    bad |= static_cast<Bits>((v & exponent) == exponent);
  }
  return bad == 0;
}

class ShardFile {
 public:
  explicit ShardFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CLOEXEC)) {
    SPROUT_CHECK(fd_ >= 0, CheckpointError, "checkpoint '", path, "': cannot open for writing: ", std::strerror(errno));
  }
  ~ShardFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  ShardFile(const ShardFile&) = delete;
  ShardFile& operator=(const ShardFile&) = delete;

  // Writes `n` bytes at `offset`, hashing them into `crc`; refuses non-finite elements of
  // a float32 / float64 tensor (`dtype`).
  void write(const char* data, size_t n, int64_t offset, uint32_t& crc, const std::string& tensor,
             torch::ScalarType dtype) {
    while (n > 0) {
      const size_t block = std::min(n, kBlock);  // a multiple of the element size
      const bool finite = dtype == torch::kFloat32   ? block_finite<uint32_t>(data, block, 0x7f800000u)
                          : dtype == torch::kFloat64 ? block_finite<uint64_t>(data, block, 0x7ff0000000000000ull)
                                                     : true;
      SPROUT_CHECK(finite, CheckpointError, "checkpoint '", path_, "': tensor ", tensor,
                   " holds Inf or NaN values; a model that is not finite is not written");
      crc = libdeflate_crc32(crc, data, block);  // zlib's CRC-32, faster
      size_t done = 0;
      while (done < block) {
        const ssize_t w = ::pwrite(fd_, data + done, block - done, static_cast<off_t>(offset + done));
        if (w < 0 && errno == EINTR) continue;
        SPROUT_CHECK(w > 0, CheckpointError, "checkpoint '", path_, "', tensor ", tensor, ": write failed: ",
                     w < 0 ? std::strerror(errno) : "no progress");
        done += static_cast<size_t>(w);
      }
      data += block;
      offset += static_cast<int64_t>(block);
      n -= block;
    }
  }

  void sync_and_close() {
    SPROUT_CHECK(::fdatasync(fd_) == 0, CheckpointError, "checkpoint '", path_, "': fdatasync failed: ",
                 std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    SPROUT_CHECK(::close(fd) == 0, CheckpointError, "checkpoint '", path_, "': close failed: ", std::strerror(errno));
  }

 private:
  std::string path_;
  int fd_;
};

// The writer runs beside training: it yields the CPU to it (Linux: per-thread nice).
void lower_priority() {
#ifdef __linux__
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
#endif
}

}  // namespace

ShardResult write_shard(const ShardWritePlan& plan) {
  if (plan.background) lower_priority();
  const auto t0 = std::chrono::steady_clock::now();
  ShardResult out;
  try {
    ShardFile file(plan.path);
    for (size_t i = 0; i < plan.pieces.size(); ++i) {
      const auto& piece = plan.pieces[i];
      uint32_t crc = 0;  // the CRC-32 of no bytes
      const int64_t n = piece.bytes();
      if (n > 0) {
        SPROUT_CHECK(piece.offset >= 0, CheckpointError, "checkpoint '", plan.path, "', tensor ", piece.name,
                     ": no place in the file");
        const auto dtype = piece.rows.scalar_type();
        SPROUT_CHECK(!piece.rows.is_floating_point() || dtype == torch::kFloat32 || dtype == torch::kFloat64,
                     CheckpointError, "checkpoint '", plan.path, "', tensor ", piece.name, ": dtype ", dtype,
                     " cannot be stored in a checkpoint");
        file.write(static_cast<const char*>(piece.rows.data_ptr()), static_cast<size_t>(n), piece.offset, crc,
                   piece.name, dtype);
      }
      out.crc32.push_back(crc);
      out.bytes += n;
      // TEST ONLY (SPROUT_TEST_FAULT): a rank failing halfway through its share.
      if (i == plan.pieces.size() / 2) inject_test_fault("checkpoint-write", plan.step, plan.rank);
    }
    file.sync_and_close();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    out.error = what.rfind("checkpoint '", 0) == 0 ? what : concat("checkpoint '", plan.path, "': ", what);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace sprout::runtime
