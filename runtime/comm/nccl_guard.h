// The error handling of the NCCL backend, kept free of NCCL and CUDA so that it is built and
// tested everywhere (tests/runtime/comm/nccl_guard_test.cpp drives it with a fake handle).
//
// Rules (each one a bug otherwise):
//  - Abort once, then never touch the handle again: ncclCommAbort frees the communicator,
//    so after it no call (async-error query, destroy, abort) may reach the handle. Every
//    path checks "aborted" first.
//  - A wait that times out aborts before it throws: the kernels of an unfinished collective
//    spin on the GPU until the communicator is aborted, and every later wait would time
//    out again.
//  - Arguments are validated before the guarded section: a bad dtype is the caller's error
//    and leaves the communicator usable; only a failure inside NCCL or CUDA aborts it.
//  - A Work that is destroyed unfinished waits for it (the collective must complete before
//    its tensor is freed) unless the communicator is aborted already, the work was
//    cancelled, or an exception is unwinding (a peer may be gone): then it aborts instead
//    of waiting a full timeout again.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/comm/communicator.h"

namespace sprout::runtime {

// What NCCL is given for a tensor, decided before anything is enqueued (a bad argument must
// not abort the communicator). Dtypes as ProcessGroupNCCL maps them: bool travels as uint8,
// int8 as int8; complex, int16 and the rest are refused.
enum class NcclElement { Int8, Uint8, Int32, Int64, Float16, Bfloat16, Float32, Float64 };
struct NcclArgs {
  NcclElement element = NcclElement::Float32;
  ReduceOp op = ReduceOp::Sum;  // the reduction NCCL runs (bool: Sum is Max, a logical or)
};
// Throws CommError naming `what` (e.g. "nccl allreduce") and the dtype when NCCL cannot
// carry `dtype` or `op` makes no sense on it (Avg of an integer or bool tensor).
NcclArgs nccl_args(torch::ScalarType dtype, ReduceOp op, const char* what);

// The completion marker of enqueued device work (a CUDA event in the real backend).
class Completion {
 public:
  virtual ~Completion() = default;
  // Non-blocking: whether the work completed; throws CommError on a device error.
  virtual bool done() const = 0;
};

// The calls the error handling makes on a live NCCL communicator handle.
class NcclHandle {
 public:
  virtual ~NcclHandle() = default;
  // NCCL's asynchronous error message, "" when none (ncclCommGetAsyncError).
  virtual std::string async_error() = 0;
  // ncclCommAbort: frees the handle without waiting for peers.
  virtual void abort() = 0;
  // ncclCommDestroy: frees a healthy handle after its work completed.
  virtual void destroy() = 0;
};

class NcclGuard {
 public:
  explicit NcclGuard(std::unique_ptr<NcclHandle> handle);
  // Destroys a healthy handle; aborts it instead while an exception unwinds; an aborted
  // handle is not touched.
  ~NcclGuard();
  NcclGuard(const NcclGuard&) = delete;
  NcclGuard& operator=(const NcclGuard&) = delete;

  // Throws CommError naming `op` when the communicator was aborted earlier.
  void require_alive(const char* op) const;
  bool aborted() const { return aborted_.load(); }
  // Aborts the handle, once; safe from any thread and after earlier aborts.
  void abort();

  // Runs `enqueue` with the enqueue mutex held (NCCL handles are not thread-safe), after
  // require_alive(op); any exception from it aborts the communicator and is rethrown.
  template <typename Fn>
  void enqueue(const char* op, Fn&& enqueue) {
    require_alive(op);
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      enqueue();
    } catch (...) {
      abort();
      throw;
    }
  }

  // True once `done` completed; false while pending. Throws CommError (after aborting) on
  // a device error or an asynchronous NCCL error, and without touching the handle when the
  // communicator was aborted.
  bool query(const Completion& done, const char* op, const std::string& phase);
  // Polls query() until `done` completed. After `timeout_s` (> 0) seconds it aborts the
  // communicator and throws CommError naming `op`, `phase` and the timeout.
  void wait(const Completion& done, const char* op, const std::string& phase, double timeout_s);

  // The enqueue mutex, for callers that enqueue several calls under one lock (split).
  std::mutex& mutex() { return mutex_; }

 private:
  std::unique_ptr<NcclHandle> handle_;
  std::mutex mutex_;         // serialises enqueues
  std::mutex handle_mutex_;  // an abort never frees the handle under a running query
  std::atomic<bool> aborted_{false};
};

// A collective in flight on a guarded communicator. `on_complete` runs once, on the thread
// that sees the completion (e.g. orders the compute stream after it, divides for Avg); it
// may throw, which aborts the communicator.
class GuardedWork final : public Work {
 public:
  GuardedWork(std::shared_ptr<NcclGuard> guard, std::unique_ptr<Completion> done, std::function<void()> on_complete,
              std::string op, std::string phase, double timeout_s);
  ~GuardedWork() override;  // see the rules at the top of this file

  void wait() override;
  bool test() override;
  // Aborts the communicator: the work will never be waited for (its caller timed out).
  void cancel() override;

 private:
  void finish();

  std::shared_ptr<NcclGuard> guard_;
  std::unique_ptr<Completion> done_;
  std::function<void()> on_complete_;
  std::string op_, phase_;
  double timeout_s_;
  bool finished_ = false;
};

}  // namespace sprout::runtime
