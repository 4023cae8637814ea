// HostStagingCommunicator: the MPI backend for CUDA tensors (runtime.device=cuda with
// runtime.backend=mpi, e.g. a build without NCCL or several ranks sharing one GPU).
// A CUDA tensor is copied to host memory, reduced by the wrapped MPI communicator and
// copied back; CPU tensors pass straight through. Same contract as the wrapped
// communicator (timeouts included); phase and timeout are kept in step with it.
//
// Correct, not fast: each collective copies into pageable host memory (tensor.to(kCPU)),
// which synchronises the host with the GPU once per bucket, and copies back. Collectives
// therefore do not overlap the backward pass as they do on the CPU or with NCCL; use NCCL
// (one GPU per rank) where speed matters.
//
// Threads: LibTorch runs a CUDA backward pass, and so the gradient hooks that start bucket
// collectives, on its own device thread, not on the thread that called MPI_Init. MPI must
// therefore grant MPI_THREAD_MULTIPLE (requested by runtime/comm/mpi_communicator.h);
// make_backend refuses host staging otherwise (require_staging_thread_level).
#pragma once

#include <memory>

#include "runtime/comm/communicator.h"

namespace sprout::runtime {

// Throws ConfigError naming `granted` (an MPI_THREAD_* level, as MPI_Query_thread reports
// it) unless it is MPI_THREAD_MULTIPLE.
void require_staging_thread_level(int granted);

class HostStagingCommunicator final : public Communicator {
 public:
  // `inner` must outlive this communicator.
  explicit HostStagingCommunicator(Communicator& inner);
  // Owns `inner` (split children).
  explicit HostStagingCommunicator(std::unique_ptr<Communicator> inner);

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string backend() const override { return inner_->backend() + "+host-staging"; }

  void allreduce(torch::Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<Work> allreduce_async(torch::Tensor tensor, ReduceOp op) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  torch::Tensor allgather(const torch::Tensor& tensor) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  [[noreturn]] void abort(int code) override;

 private:
  Communicator& inner();  // with this communicator's phase and timeout

  std::unique_ptr<Communicator> owned_;
  Communicator* inner_;
};

}  // namespace sprout::runtime
