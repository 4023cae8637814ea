#include "runtime/comm/nccl_stream.h"

#include <chrono>
#include <thread>

#include "runtime/device/cuda_compat.h"
#include "runtime/error.h"

namespace sprout::runtime {

CudaEvent::CudaEvent() { SPROUT_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }

CudaEvent::~CudaEvent() {
  if (event_ != nullptr) cudaEventDestroy(event_);
}

NcclCommunicator::State::State(ncclComm_t c, int d) : comm(c), device(d) {
  try {
    SPROUT_CUDA_CHECK(cudaSetDevice(device));
    // Non-blocking: no implicit ordering with the legacy default stream; events order it.
    SPROUT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  } catch (...) {
    abort();
    throw;
  }
}

NcclCommunicator::State::~State() {
  if (!aborted.load()) {
    // Every collective was waited for (Work waits in its destructor), so this does not block
    // on peers. A destructor during unwinding aborts instead: a peer may be gone.
    if (std::uncaught_exceptions() > 0) abort();
    else ncclCommDestroy(comm);
  }
  if (stream != nullptr) cudaStreamDestroy(stream);
}

cudaStream_t NcclCommunicator::State::order_after_compute() {
  cudaStream_t compute = compat::current_cuda_stream(device);
  CudaEvent ready;
  SPROUT_CUDA_CHECK(cudaEventRecord(ready.get(), compute));
  SPROUT_CUDA_CHECK(cudaStreamWaitEvent(stream, ready.get(), 0));
  return compute;  // `ready` may be destroyed now: the wait was already enqueued
}

void NcclCommunicator::State::record_done(const CudaEvent& done) {
  SPROUT_CUDA_CHECK(cudaEventRecord(done.get(), stream));
}

bool NcclCommunicator::State::query(const CudaEvent& done, const char* op, const std::string& phase) {
  const cudaError_t state = cudaEventQuery(done.get());
  if (state == cudaSuccess) return true;
  if (state != cudaErrorNotReady) {
    abort();
    nccl::throw_cuda(state, "cudaEventQuery(done)", __FILE__, __LINE__);
  }
  ncclResult_t async = ncclSuccess;
  SPROUT_NCCL_CHECK(ncclCommGetAsyncError(comm, &async), comm);
  if (async != ncclSuccess) {
    const std::string message = nccl::error_message(async, comm);
    abort();
    throw CommError(concat("nccl ", op, " (", phase, "): asynchronous NCCL error: ", message));
  }
  return false;
}

void NcclCommunicator::State::wait(const CudaEvent& done, const char* op, const std::string& phase,
                                   double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (int polls = 0; !query(done, op, phase); ++polls) {
    if (timeout_s > 0 && std::chrono::duration<double>(clock::now() - start).count() > timeout_s) {
      abort();
      throw CommError(concat("nccl ", op, ": timed out after ", timeout_s, " s (", phase,
                             "); a peer rank is gone or stuck"));
    }
    // Spin briefly (small collectives finish in microseconds), then back off.
    if (polls < 2000) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  SPROUT_CUDA_CHECK(cudaStreamWaitEvent(compat::current_cuda_stream(device), done.get(), 0));
}

void NcclCommunicator::State::abort() {
  bool expected = false;
  if (aborted.compare_exchange_strong(expected, true) && comm != nullptr) ncclCommAbort(comm);
}

void NcclCommunicator::State::require_alive(const char* op) const {
  SPROUT_CHECK(!aborted.load(), CommError, "nccl ", op,
               ": the communicator was aborted after an earlier error");
}

}  // namespace sprout::runtime
