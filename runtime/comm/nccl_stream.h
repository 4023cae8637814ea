// The NCCL backend's handle, stream and events (Note [NCCL stream ordering] in
// runtime/comm/nccl_communicator.h). Internal to the backend's .cpp files: needs nccl.h.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "runtime/comm/nccl_communicator.h"
#include "runtime/comm/nccl_compat.h"

namespace sprout::runtime {

// A CUDA event without timing (cheap to record and query), destroyed with its owner.
class CudaEvent {
 public:
  CudaEvent();
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

struct NcclCommunicator::State {
  // Takes ownership of `comm`; creates the NCCL stream on `device`.
  State(ncclComm_t comm, int device);
  ~State();  // destroys a healthy communicator, frees an aborted one's stream only

  // Makes the NCCL stream wait for the work enqueued so far on the compute stream.
  // Returns the compute stream. Call with `mutex` held, before enqueueing a collective.
  cudaStream_t order_after_compute();
  // Records completion of the work enqueued so far on the NCCL stream into `done`.
  void record_done(const CudaEvent& done);
  // Blocks until `done` completed: polls it and ncclCommGetAsyncError; after
  // `timeout_s` (> 0) seconds, or on an error, aborts the communicator and throws
  // CommError naming `op` and `phase`. Then orders the compute stream after `done`.
  void wait(const CudaEvent& done, const char* op, const std::string& phase, double timeout_s);
  // Non-blocking: true once `done` completed (throws as wait() on errors).
  bool query(const CudaEvent& done, const char* op, const std::string& phase);

  // ncclCommAbort, once. Safe to call from any thread.
  void abort();
  // Throws CommError if the communicator was aborted earlier.
  void require_alive(const char* op) const;
  // Runs `fn`; on any exception aborts the communicator first, then rethrows.
  template <typename Fn>
  auto guarded(Fn&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (...) {
      abort();
      throw;
    }
  }

  ncclComm_t comm = nullptr;
  int device = 0;
  cudaStream_t stream = nullptr;
  std::mutex mutex;  // serialises enqueues (NCCL handles are not thread-safe)
  std::atomic<bool> aborted{false};
};

}  // namespace sprout::runtime
