// HostStagingCommunicator: the MPI backend for CUDA tensors (runtime.device=cuda with
// runtime.backend=mpi, e.g. a build without NCCL or several ranks sharing one GPU).
// A CUDA tensor is copied to host memory, reduced by the wrapped MPI communicator and
// copied back; CPU tensors pass straight through. Same contract as the wrapped
// communicator (timeouts included); phase and timeout are kept in step with it.
#pragma once

#include <memory>

#include "runtime/comm/communicator.h"

namespace sprout::runtime {

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
