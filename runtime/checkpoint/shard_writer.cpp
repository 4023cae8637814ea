#include "runtime/checkpoint/shard_writer.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>

#include "runtime/error.h"
#include "runtime/fault_injection.h"

namespace sprout::runtime {

namespace {

// Large enough that the system call overhead vanishes, small enough that the hashed
// block is still in cache when it is written.
constexpr size_t kBlock = 8u << 20;

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

  // Writes `n` bytes at `offset`, hashing them into `crc`.
  void write(const char* data, size_t n, int64_t offset, uLong& crc, const std::string& tensor) {
    while (n > 0) {
      const size_t block = std::min(n, kBlock);
      crc = crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(block));
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

// A plain loop rather than torch::isfinite: no temporary as large as the piece, and no
// intra-op thread pool competing with training.
template <class T>
bool all_finite(const T* p, int64_t n) {
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(p[i]);
  return ok;
}

bool all_finite(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kFloat32) return all_finite(t.data_ptr<float>(), t.numel());
  if (t.scalar_type() == torch::kFloat64) return all_finite(t.data_ptr<double>(), t.numel());
  return !t.is_floating_point() || torch::isfinite(t).all().item<bool>();
}

// The writer runs beside training: it yields the CPU to it (Linux: per-thread nice).
void lower_priority() {
#ifdef __linux__
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
#endif
}

}  // namespace

ShardResult write_shard(const ShardPlan& plan) {
  if (plan.background) lower_priority();
  const auto t0 = std::chrono::steady_clock::now();
  ShardResult out;
  try {
    ShardFile file(plan.path);
    for (size_t i = 0; i < plan.pieces.size(); ++i) {
      const auto& piece = plan.pieces[i];
      uLong crc = crc32(0L, Z_NULL, 0);
      const int64_t n = piece.bytes();
      if (n > 0) {
        SPROUT_CHECK(piece.offset >= 0, CheckpointError, "checkpoint '", plan.path, "', tensor ", piece.name,
                     ": no place in the file");
        SPROUT_CHECK(all_finite(piece.rows), CheckpointError, "checkpoint '", plan.path, "': tensor ", piece.name,
                     " holds Inf or NaN values; a model that is not finite is not written");
        file.write(static_cast<const char*>(piece.rows.data_ptr()), static_cast<size_t>(n), piece.offset, crc,
                   piece.name);
      }
      out.crc32.push_back(static_cast<uint32_t>(crc));
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
