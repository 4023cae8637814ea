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

std::string gpu_bus_id(int device) {
  char id[32] = {};  // "0000:3b:00.0" (13 bytes with the terminator)
  if (cudaDeviceGetPCIBusId(id, sizeof(id), device) != cudaSuccess) {
    cudaGetLastError();  // clear it: LibTorch's next CUDA check must not see it
    return "";
  }
  return id;
}

namespace {

using State = NcclCommunicator::State;

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

// Blocks until `done` completed (NcclGuard::wait), then orders the compute stream after it.
void wait_then_order(State& state, const CudaEvent& done, const char* op, const std::string& phase,
                     double timeout_s) {
  state.guard->wait(done, op, phase, timeout_s);
  try {
    state.order_compute_after(done);
  } catch (...) {
    state.guard->abort();
    throw;
  }
}

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
  state_->guard->require_alive(op);
}

void NcclCommunicator::allreduce(torch::Tensor& tensor, ReduceOp op) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().allreduce(tensor, op);
  allreduce_async(tensor, op)->wait();
}

std::shared_ptr<Work> NcclCommunicator::allreduce_async(torch::Tensor tensor, ReduceOp op) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().allreduce_async(tensor, op);
  require_device_tensor(tensor, "allreduce");
  const auto args = nccl_args(tensor.scalar_type(), op, "nccl allreduce");  // before the guard: no abort
  auto done = std::make_unique<CudaEvent>();
  state_->guard->enqueue("allreduce", [&] {
    state_->order_after_compute();
    Watchdog::Guard guard(options_.watchdog, "ncclAllReduce", phase_, timeout_s_);
    SPROUT_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                                    nccl::datatype(args.element), nccl::reduction(args.op), state_->comm,
                                    state_->stream),
                      state_->comm);
    state_->record_done(*done);
  });
  // The work keeps the state (stream) and the tensor alive until the collective completed.
  const CudaEvent* event = done.get();
  auto on_complete = [state = state_, event, tensor, op, size = size()]() mutable {
    state->order_compute_after(*event);
    finish_avg(tensor, op, size);
    tensor = torch::Tensor();  // the allocator may reuse its memory from now on
  };
  return std::make_shared<GuardedWork>(state_->guard, std::move(done), std::move(on_complete), "allreduce (async)",
                                       phase_, timeout_s_);
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().broadcast(tensor, root);
  require_device_tensor(tensor, "broadcast");
  SPROUT_CHECK(root >= 0 && root < size(), CommError, "nccl broadcast: root ", root, " out of range");
  const auto args = nccl_args(tensor.scalar_type(), ReduceOp::Sum, "nccl broadcast");
  CudaEvent done;
  state_->guard->enqueue("broadcast", [&] {
    state_->order_after_compute();
    Watchdog::Guard guard(options_.watchdog, "ncclBroadcast", phase_, timeout_s_);
    SPROUT_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                                    nccl::datatype(args.element), root, state_->comm, state_->stream),
                      state_->comm);
    state_->record_done(done);
  });
  wait_then_order(*state_, done, "broadcast", phase_, timeout_s_);
}

torch::Tensor NcclCommunicator::allgather(const torch::Tensor& tensor) {
  if (tensor.defined() && tensor.device().is_cpu()) return host().allgather(tensor);
  auto in = tensor.contiguous();
  require_device_tensor(in, "allgather");
  const auto args = nccl_args(in.scalar_type(), ReduceOp::Sum, "nccl allgather");
  std::vector<int64_t> shape{size()};
  for (auto d : in.sizes()) shape.push_back(d);
  auto out = torch::empty(shape, in.options());  // (size, ...tensor.shape)
  CudaEvent done;
  state_->guard->enqueue("allgather", [&] {
    state_->order_after_compute();
    Watchdog::Guard guard(options_.watchdog, "ncclAllGather", phase_, timeout_s_);
    SPROUT_NCCL_CHECK(ncclAllGather(in.data_ptr(), out.data_ptr(), static_cast<size_t>(in.numel()),
                                    nccl::datatype(args.element), state_->comm, state_->stream),
                      state_->comm);
    state_->record_done(done);
  });
  wait_then_order(*state_, done, "allgather", phase_, timeout_s_);
  return out;
}

void NcclCommunicator::barrier() {
  // NCCL has no barrier: a one-element allreduce that the host waits for is one.
  auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA, options_.device));
  allreduce(token, ReduceOp::Sum);
}

std::unique_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  state_->guard->require_alive("split");
  auto sub_mpi = host().split(color, key);  // collective over MPI: same order on every rank
  ncclComm_t child = nullptr;
  state_->guard->enqueue("split", [&] {
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
  child_state->guard->enqueue("split", [&] { SPROUT_NCCL_CHECK(ncclCommUserRank(child, &nccl_rank), child); });
  SPROUT_CHECK(nccl_rank == sub_mpi->rank(), CommError, "nccl split: NCCL ordered this rank ", nccl_rank,
               " but MPI ordered it ", sub_mpi->rank());
  return std::unique_ptr<Communicator>(new NcclCommunicator(std::move(sub_mpi), std::move(child_state), options_));
}

void NcclCommunicator::abort(int code) {
  state_->guard->abort();
  host().abort(code);
  std::_Exit(code);  // abort() does not return; this is for the type system
}

}  // namespace sprout::runtime
