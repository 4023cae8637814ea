#include "runtime/comm/nccl_stream.h"

#include "runtime/device/cuda_compat.h"
#include "runtime/error.h"

namespace sprout::runtime {

CudaEvent::CudaEvent() { SPROUT_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }

CudaEvent::~CudaEvent() {
  if (event_ != nullptr) cudaEventDestroy(event_);
}

bool CudaEvent::done() const {
  const cudaError_t state = cudaEventQuery(event_);
  if (state == cudaSuccess) return true;
  if (state != cudaErrorNotReady) nccl::throw_cuda(state, "cudaEventQuery(done)", __FILE__, __LINE__);
  return false;
}

std::string LiveNcclHandle::async_error() {
  ncclResult_t async = ncclSuccess;
  SPROUT_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async), comm_);
  return async == ncclSuccess ? std::string() : nccl::error_message(async, comm_);
}

void LiveNcclHandle::abort() { ncclCommAbort(comm_); }

void LiveNcclHandle::destroy() { ncclCommDestroy(comm_); }

NcclCommunicator::State::State(ncclComm_t c, int d)
    : comm(c), device(d), guard(std::make_shared<NcclGuard>(std::make_unique<LiveNcclHandle>(c))) {
  try {
    SPROUT_CUDA_CHECK(cudaSetDevice(device));
    // Non-blocking: no implicit ordering with the legacy default stream; events order it.
    SPROUT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  } catch (...) {
    guard->abort();
    throw;
  }
}

NcclCommunicator::State::~State() {
  guard.reset();  // in-flight works share it; the last owner destroys or aborts the handle
  if (stream != nullptr) cudaStreamDestroy(stream);
}

void NcclCommunicator::State::order_after_compute() {
  cudaStream_t compute = compat::current_cuda_stream(device);
  CudaEvent ready;
  SPROUT_CUDA_CHECK(cudaEventRecord(ready.get(), compute));
  SPROUT_CUDA_CHECK(cudaStreamWaitEvent(stream, ready.get(), 0));
  // `ready` may be destroyed now: the wait was already enqueued
}

void NcclCommunicator::State::record_done(const CudaEvent& done) {
  SPROUT_CUDA_CHECK(cudaEventRecord(done.get(), stream));
}

void NcclCommunicator::State::order_compute_after(const CudaEvent& done) {
  SPROUT_CUDA_CHECK(cudaStreamWaitEvent(compat::current_cuda_stream(device), done.get(), 0));
}

}  // namespace sprout::runtime
