#include "runtime/comm/host_staging_communicator.h"

#include "runtime/settings.h"

#include <mpi.h>

#include <cstdlib>

#include "runtime/error.h"

namespace sprout::runtime {

namespace {

bool on_host(const torch::Tensor& t) { return !t.defined() || t.device().is_cpu(); }

// Completes the wrapped host collective, then copies the result back to the device tensor.
class StagedWork final : public Work {
 public:
  StagedWork(std::shared_ptr<Work> inner, torch::Tensor host, torch::Tensor device)
      : inner_(std::move(inner)), host_(std::move(host)), device_(std::move(device)) {}
  void wait() override {
    if (done_) return;
    inner_->wait();
    finish();
  }
  bool test() override {
    if (done_) return true;
    if (!inner_->test()) return false;
    finish();
    return true;
  }
  void cancel() override {
    if (!done_) inner_->cancel();
  }

 private:
  void finish() {
    done_ = true;
    device_.copy_(host_);
  }
  std::shared_ptr<Work> inner_;
  torch::Tensor host_, device_;
  bool done_ = false;
};

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return "an unknown level";
}

}  // namespace

void require_staging_thread_level(int granted) {
  // A SettingError on DeviceRequest::backend: launch words it with the option names.
  if (granted != MPI_THREAD_MULTIPLE) {
    throw SettingError("backend", concat("mpi on cuda (host staging) needs MPI_THREAD_MULTIPLE (CUDA gradient hooks "
                                         "run on LibTorch's device thread), but this MPI library grants ",
                                         thread_level_name(granted),
                                         "; use an MPI built with thread support or {backend} nccl"));
  }
}

HostStagingCommunicator::HostStagingCommunicator(Communicator& inner) : inner_(&inner) {
  set_phase(inner.phase());
  set_timeout(inner.timeout());
}

HostStagingCommunicator::HostStagingCommunicator(std::unique_ptr<Communicator> inner)
    : owned_(std::move(inner)), inner_(owned_.get()) {
  set_phase(inner_->phase());
  set_timeout(inner_->timeout());
}

Communicator& HostStagingCommunicator::inner() {
  inner_->set_phase(phase_);
  inner_->set_timeout(timeout_s_);
  return *inner_;
}

void HostStagingCommunicator::allreduce(torch::Tensor& tensor, ReduceOp op) {
  if (on_host(tensor)) return inner().allreduce(tensor, op);
  auto host = tensor.to(torch::kCPU).contiguous();
  inner().allreduce(host, op);
  tensor.copy_(host);
}

std::shared_ptr<Work> HostStagingCommunicator::allreduce_async(torch::Tensor tensor, ReduceOp op) {
  if (on_host(tensor)) return inner().allreduce_async(tensor, op);
  auto host = tensor.to(torch::kCPU).contiguous();
  auto work = inner().allreduce_async(host, op);
  return std::make_shared<StagedWork>(std::move(work), host, tensor);
}

void HostStagingCommunicator::broadcast(torch::Tensor& tensor, int root) {
  if (on_host(tensor)) return inner().broadcast(tensor, root);
  auto host = tensor.to(torch::kCPU).contiguous();
  inner().broadcast(host, root);
  tensor.copy_(host);
}

torch::Tensor HostStagingCommunicator::allgather(const torch::Tensor& tensor) {
  if (on_host(tensor)) return inner().allgather(tensor);
  return inner().allgather(tensor.to(torch::kCPU)).to(tensor.device());
}

void HostStagingCommunicator::barrier() { inner().barrier(); }

std::unique_ptr<Communicator> HostStagingCommunicator::split(int color, int key) {
  return std::make_unique<HostStagingCommunicator>(inner().split(color, key));
}

void HostStagingCommunicator::abort(int code) {
  inner().abort(code);
  std::_Exit(code);  // abort() does not return; this is for the type system
}

}  // namespace sprout::runtime
