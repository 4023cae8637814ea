#include "runtime/comm/nccl_communicator.h"

#include <cstdlib>
#include <cstring>

#include "runtime/comm/backend.h"
#include "runtime/device/device.h"
#include "runtime/error.h"
#include "runtime/comm/nccl_bootstrap.h"
#include "runtime/comm/nccl_stream.h"

namespace sprout::runtime {

bool nccl_built() { return true; }

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& mpi, const NcclOptions& options) {
  return std::make_unique<NcclCommunicator>(mpi, options);
}

std::string nccl_version() {
  return concat(NCCL_MAJOR, ".", NCCL_MINOR, ".", NCCL_PATCH, " (compiled), ", nccl::library_version(),
                " (loaded)");
}

namespace {

using State = NcclCommunicator::State;

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg:
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0)
      return ncclAvg;
#else
      return ncclSum;  // divided by size() after completion (finish_avg)
#endif
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  return ncclSum;
}

void check_avg(const torch::Tensor& t, ReduceOp op) {
  SPROUT_CHECK(op != ReduceOp::Avg || t.is_floating_point(), CommError,
               "nccl allreduce avg needs a floating tensor, got ", t.scalar_type());
}

// Runs after the compute stream was ordered after the collective.
void finish_avg(torch::Tensor& t, ReduceOp op, int size) {
  if (!nccl::kHasAvg && op == ReduceOp::Avg) t.div_(static_cast<double>(size));
}

// Rank 0 makes the id, MPI carries it, every rank joins on its GPU (timed by the watchdog:
// ncclCommInitRank blocks until every rank arrived).
ncclComm_t init_communicator(Communicator& mpi, const NcclOptions& options) {
  SPROUT_CUDA_CHECK(cudaSetDevice(options.device));
  NcclIdBytes id{};
  if (mpi.rank() == 0) {
    ncclUniqueId made;
    SPROUT_NCCL_CHECK(ncclGetUniqueId(&made), nullptr);
    std::memcpy(id.data(), made.internal, kNcclIdBytes);
  }
  id = broadcast_nccl_id(mpi, id, 0);
  ncclUniqueId unique;
  std::memcpy(unique.internal, id.data(), kNcclIdBytes);
  ncclComm_t comm = nullptr;
  Watchdog::Guard guard(options.watchdog, "ncclCommInitRank", mpi.phase(), mpi.timeout());
  SPROUT_NCCL_CHECK(ncclCommInitRank(&comm, mpi.size(), unique, mpi.rank()), comm);
  return comm;
}

class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<State> state, torch::Tensor tensor, ReduceOp op, int size,
           std::unique_ptr<CudaEvent> done, std::string phase, double timeout)
      : state_(std::move(state)), tensor_(std::move(tensor)), op_(op), size_(size),
        done_(std::move(done)), phase_(std::move(phase)), timeout_(timeout) {}
  ~NcclWork() override {
    if (!finished_) {
      try { wait(); } catch (...) {}
    }
  }
  void wait() override {
    if (finished_) return;
    state_->guarded([&] { state_->wait(*done_, "allreduce (async)", phase_, timeout_); });
    finish();
  }
  bool test() override {
    if (finished_) return true;
    if (!state_->guarded([&] { return state_->query(*done_, "allreduce (async)", phase_); })) return false;
    // Completed: order the compute stream after it (cannot block: the event is done).
    state_->guarded([&] { state_->wait(*done_, "allreduce (async)", phase_, timeout_); });
    finish();
    return true;
  }

 private:
  void finish() {
    finished_ = true;
    finish_avg(tensor_, op_, size_);
    tensor_ = torch::Tensor();  // the allocator may reuse its memory from now on
  }
  std::shared_ptr<State> state_;
  torch::Tensor tensor_;
  ReduceOp op_;
  int size_;
  std::unique_ptr<CudaEvent> done_;
  std::string phase_;
  double timeout_;
  bool finished_ = false;
};

}  // namespace

NcclCommunicator::NcclCommunicator(Communicator& mpi, NcclOptions options)
    : mpi_(&mpi), options_(options) {
  set_timeout(mpi.timeout());
  set_phase(mpi.phase());
  state_ = std::make_shared<State>(init_communicator(mpi, options_), options_.device);
  barrier();  // every rank connected before the first real collective
}

NcclCommunicator::NcclCommunicator(std::unique_ptr<Communicator> owned_mpi, std::shared_ptr<State> state,
                                   NcclOptions options)
    : owned_mpi_(std::move(owned_mpi)), mpi_(owned_mpi_.get()), options_(options), state_(std::move(state)) {
  set_timeout(mpi_->timeout());
  set_phase(mpi_->phase());
}

NcclCommunicator::~NcclCommunicator() = default;

Communicator& NcclCommunicator::host() {
  mpi_->set_phase(phase_);
  mpi_->set_timeout(timeout_s_);
  return *mpi_;
}

void NcclCommunicator::require_device_tensor(const torch::Tensor& t, const char* op) const {
  SPROUT_CHECK(t.defined() && t.is_contiguous(), CommError, "nccl ", op, ": tensor must be defined and contiguous");
  SPROUT_CHECK(t.is_cuda() && t.device().index() == options_.device, CommError, "nccl ", op, ": tensor on ",
               t.device(), " but this communicator is on cuda:", options_.device);
  state_->require_alive(op);
}

void NcclCommunicator::allreduce(torch::Tensor& tensor, ReduceOp op) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().allreduce(tensor, op);
  allreduce_async(tensor, op)->wait();
}

std::shared_ptr<Work> NcclCommunicator::allreduce_async(torch::Tensor tensor, ReduceOp op) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().allreduce_async(tensor, op);
  require_device_tensor(tensor, "allreduce");
  check_avg(tensor, op);
  auto done = std::make_unique<CudaEvent>();
  state_->guarded([&] {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->order_after_compute();
    Watchdog::Guard guard(options_.watchdog, "ncclAllReduce", phase_, timeout_s_);
    SPROUT_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                                    nccl::datatype(tensor), nccl_op(op), state_->comm, state_->stream),
                      state_->comm);
    state_->record_done(*done);
  });
  return std::make_shared<NcclWork>(state_, tensor, op, size(), std::move(done), phase_, timeout_s_);
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().broadcast(tensor, root);
  require_device_tensor(tensor, "broadcast");
  SPROUT_CHECK(root >= 0 && root < size(), CommError, "nccl broadcast: root ", root, " out of range");
  CudaEvent done;
  state_->guarded([&] {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->order_after_compute();
      Watchdog::Guard guard(options_.watchdog, "ncclBroadcast", phase_, timeout_s_);
      SPROUT_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                                      nccl::datatype(tensor), root, state_->comm, state_->stream),
                        state_->comm);
      state_->record_done(done);
    }
    state_->wait(done, "broadcast", phase_, timeout_s_);
  });
}

torch::Tensor NcclCommunicator::allgather(const torch::Tensor& tensor) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().allgather(tensor);
  auto in = tensor.contiguous();
  require_device_tensor(in, "allgather");
  std::vector<int64_t> shape{size()};
  for (auto d : in.sizes()) shape.push_back(d);
  auto out = torch::empty(shape, in.options());  // (size, ...tensor.shape)
  CudaEvent done;
  state_->guarded([&] {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->order_after_compute();
      Watchdog::Guard guard(options_.watchdog, "ncclAllGather", phase_, timeout_s_);
      SPROUT_NCCL_CHECK(ncclAllGather(in.data_ptr(), out.data_ptr(), static_cast<size_t>(in.numel()),
                                      nccl::datatype(in), state_->comm, state_->stream),
                        state_->comm);
      state_->record_done(done);
    }
    state_->wait(done, "allgather", phase_, timeout_s_);
  });
  return out;
}

void NcclCommunicator::barrier() {
  // NCCL has no barrier: a one-element allreduce that the host waits for is one.
  auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA, options_.device));
  allreduce(token, ReduceOp::Sum);
}

std::unique_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  state_->require_alive("split");
  auto sub_mpi = host().split(color, key);  // collective over MPI: same order on every rank
  ncclComm_t child = nullptr;
  state_->guarded([&] {
    std::lock_guard<std::mutex> lock(state_->mutex);
    Watchdog::Guard guard(options_.watchdog, "nccl split", phase_, timeout_s_);
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 18, 0)
    SPROUT_NCCL_CHECK(ncclCommSplit(state_->comm, color, key, &child, nullptr), state_->comm);
#else
    NcclOptions sub_options = options_;
    child = init_communicator(*sub_mpi, sub_options);
#endif
  });
  auto child_state = std::make_shared<State>(child, options_.device);
  int nccl_rank = -1;
  SPROUT_NCCL_CHECK(ncclCommUserRank(child, &nccl_rank), child);
  SPROUT_CHECK(nccl_rank == sub_mpi->rank(), CommError, "nccl split: NCCL ordered this rank ", nccl_rank,
               " but MPI ordered it ", sub_mpi->rank());
  return std::unique_ptr<Communicator>(new NcclCommunicator(std::move(sub_mpi), std::move(child_state), options_));
}

void NcclCommunicator::abort(int code) {
  state_->abort();
  host().abort(code);
  std::_Exit(code);  // abort() does not return; this is for the type system
}

}  // namespace sprout::runtime
