// NCCL implementation of Communicator, bootstrapped by MPI. Built when SPROUT_WITH_NCCL is
// on (runtime/device/device.cmake); construct it through make_backend() (runtime/comm/backend.h).
//
// Bring-up (collective over the MPI communicator it is given): rank 0 calls
// ncclGetUniqueId, the id is broadcast over MPI (runtime/comm/nccl_bootstrap.h), every rank
// calls ncclCommInitRank on its own GPU, then one tiny allreduce proves all are connected.
//
// Which tensors go where:
//  - CUDA tensors on this communicator's device go through NCCL.
//  - CPU tensors (control traffic: scalars, strings, hashes, agreement votes) go through
//    the MPI communicator it was bootstrapped from. So allreduce_scalar, broadcast_string,
//    verify_identical and agree() work unchanged on a GPU job. Each rank still calls the
//    same collectives in the same order (the Communicator contract); the two channels are
//    then each in order on their own.
//
// Note [NCCL stream ordering]
// Collectives run on the communicator's own CUDA stream. Before each one an event recorded
// on the compute stream (LibTorch's current stream, runtime/device/cuda_compat.h) makes the NCCL
// stream wait for the kernels that produced the tensor; after it an event recorded on the
// NCCL stream makes the compute stream wait before it reads the result. No device-wide
// synchronise anywhere. The host waits for the completion event of a blocking collective
// (and in Work::wait) by polling it, so that it can poll ncclCommGetAsyncError and keep
// the timeout; tensors stay referenced until their collective completed, so LibTorch's
// caching allocator never hands their memory to another kernel early.
//
// Errors and timeouts (runtime/comm/nccl_guard.h): arguments (device, layout, dtype) are
// checked before anything is enqueued, so a bad one throws CommError and leaves the
// communicator usable. Every NCCL and CUDA call is checked (file:line and the library's
// message). On any error, on an asynchronous NCCL error, or when a collective has not
// completed after timeout() seconds, the NCCL communicator is aborted (ncclCommAbort) and
// CommError is thrown naming the operation and the phase; every later call throws too,
// and nothing touches the freed handle again. Dtypes: float16/32/64, bfloat16, int8,
// uint8, int32, int64 and bool (carried as uint8; a bool sum is a logical or).
// Calls that block inside NCCL (init, split, the first connection of a collective) are
// timed by the MPI watchdog, which ends the job as for MPI collectives.
#pragma once

#include <memory>
#include <string>

#include "runtime/comm/communicator.h"
#include "runtime/comm/watchdog.h"

namespace sprout::runtime {

struct NcclOptions {
  int device = 0;                // CUDA device index this rank uses
  Watchdog* watchdog = nullptr;  // times the calls that block inside NCCL; may be null
};

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `mpi`, which must outlive this communicator. Timeout and phase are
  // taken from `mpi`.
  NcclCommunicator(Communicator& mpi, NcclOptions options);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  std::string backend() const override { return "nccl"; }

  void allreduce(torch::Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<Work> allreduce_async(torch::Tensor tensor, ReduceOp op) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  torch::Tensor allgather(const torch::Tensor& tensor) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  [[noreturn]] void abort(int code) override;

  int device() const { return options_.device; }
  // The MPI communicator that carries CPU tensors (phase and timeout kept in step).
  Communicator& host();

  struct State;  // NCCL handle and stream, shared with in-flight Work (nccl_communicator.cpp)

 private:
  NcclCommunicator(std::unique_ptr<Communicator> owned_mpi, std::shared_ptr<State> state,
                   NcclOptions options);
  void require_device_tensor(const torch::Tensor& t, const char* op) const;

  std::unique_ptr<Communicator> owned_mpi_;  // split children own their MPI sub-communicator
  Communicator* mpi_;
  NcclOptions options_;
  std::shared_ptr<State> state_;
};

}  // namespace sprout::runtime
