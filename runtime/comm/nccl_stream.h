// The NCCL backend's handle, stream and events (Note [NCCL stream ordering] in
// runtime/comm/nccl_communicator.h). Error handling, aborts and timeouts are NcclGuard's
// (runtime/comm/nccl_guard.h). Internal to the backend's .cpp files: needs nccl.h.
#pragma once

#include <memory>
#include <string>

#include "runtime/comm/nccl_communicator.h"
#include "runtime/comm/nccl_compat.h"
#include "runtime/comm/nccl_guard.h"

namespace sprout::runtime {

// A CUDA event without timing (cheap to record and query), destroyed with its owner.
class CudaEvent final : public Completion {
 public:
  CudaEvent();
  ~CudaEvent() override;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }
  bool done() const override;  // cudaEventQuery; throws CommError on a CUDA error

 private:
  cudaEvent_t event_ = nullptr;
};

// The real NcclHandle: ncclCommGetAsyncError, ncclCommAbort, ncclCommDestroy on `comm`.
class LiveNcclHandle final : public NcclHandle {
 public:
  explicit LiveNcclHandle(ncclComm_t comm) : comm_(comm) {}
  std::string async_error() override;
  void abort() override;
  void destroy() override;

 private:
  ncclComm_t comm_;
};

struct NcclCommunicator::State {
  // Takes ownership of `comm` (through the guard); creates the NCCL stream on `device`.
  State(ncclComm_t comm, int device);
  ~State();  // the guard destroys or aborts the handle; then the stream is freed

  // Makes the NCCL stream wait for the work enqueued so far on the compute stream.
  // Call inside guard->enqueue, before enqueueing a collective.
  void order_after_compute();
  // Records completion of the work enqueued so far on the NCCL stream into `done`.
  void record_done(const CudaEvent& done);
  // Makes the compute stream wait for `done` (after it completed: does not block).
  void order_compute_after(const CudaEvent& done);

  ncclComm_t comm = nullptr;  // valid while !guard->aborted()
  int device = 0;
  cudaStream_t stream = nullptr;
  std::shared_ptr<NcclGuard> guard;
};

}  // namespace sprout::runtime
