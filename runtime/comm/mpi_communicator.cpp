#include "runtime/comm/mpi_communicator.h"

#include <cstdio>
#include <cstdlib>

#include "runtime/comm/hierarchical_allreduce.h"
#include "runtime/comm/scattered_hierarchical_allreduce.h"
#include "runtime/error.h"

namespace sprout::runtime {

namespace detail {
void check_mpi(int code, const char* call, const char* file, int line) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw CommError(concat(file, ":", line, ": ", call, " failed: ", std::string(text, len)));
}
}  // namespace detail

MpiEnvironment::MpiEnvironment(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &thread_level_);
  else MPI_Query_thread(&thread_level_);
  // Errors come back as codes (SPROUT_MPI_CHECK turns them into exceptions).
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank_, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
  watchdog_ = std::make_shared<Watchdog>(world_rank_, [](const std::string& message) {
    abort_job(message, 1);
  });
}

MpiEnvironment::~MpiEnvironment() {
  watchdog_.reset();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::unique_ptr<Communicator> MpiEnvironment::world() {
  MPI_Comm dup;
  SPROUT_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
  return std::make_unique<MpiCommunicator>(dup, watchdog_);
}

void MpiEnvironment::abort_job(const std::string& message, int code) {
  if (!message.empty()) {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
  }
  std::fflush(stdout);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this is for the type system.
}

MPI_Datatype mpi_datatype(const torch::Tensor& tensor) {
  switch (tensor.scalar_type()) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kUInt8: return MPI_UINT8_T;
    default:
      throw CommError(concat("mpi: unsupported tensor dtype ", tensor.scalar_type()));
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: return MPI_SUM;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
  }
  return MPI_SUM;
}

namespace {

void require_host_contiguous(const torch::Tensor& t, const char* op) {
  SPROUT_CHECK(t.defined() && t.is_contiguous() && t.device().is_cpu(), CommError,
               "mpi ", op, ": tensor must be a defined, contiguous CPU tensor");
  SPROUT_CHECK(t.numel() <= std::numeric_limits<int>::max(), CommError, "mpi ", op,
               ": tensor of ", t.numel(), " elements exceeds MPI's int count");
}

void finish_avg(torch::Tensor& t, ReduceOp op, int size) {
  if (op != ReduceOp::Avg) return;
  SPROUT_CHECK(t.is_floating_point(), CommError, "mpi allreduce avg needs a floating tensor");
  t.div_(static_cast<double>(size));
}

class MpiWork final : public Work {
 public:
  MpiWork(MPI_Request req, torch::Tensor t, ReduceOp op, int size, Watchdog* dog,
          std::string phase, double timeout)
      : req_(req), tensor_(std::move(t)), op_(op), size_(size), dog_(dog),
        phase_(std::move(phase)), timeout_(timeout) {}
  ~MpiWork() override {
    if (!done_) {
      try { wait(); } catch (...) {}
    }
  }
  void wait() override {
    if (done_) return;
    Watchdog::Guard guard(dog_, "allreduce (async)", phase_, timeout_);
    SPROUT_MPI_CHECK(MPI_Wait(&req_, MPI_STATUS_IGNORE));
    complete();
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    SPROUT_MPI_CHECK(MPI_Test(&req_, &flag, MPI_STATUS_IGNORE));
    if (flag) complete();
    return done_;
  }

 private:
  void complete() {
    done_ = true;
    finish_avg(tensor_, op_, size_);
  }
  MPI_Request req_;
  torch::Tensor tensor_;
  ReduceOp op_;
  int size_;
  Watchdog* dog_;
  std::string phase_;
  double timeout_;
  bool done_ = false;
};

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, std::shared_ptr<Watchdog> watchdog)
    : comm_(comm), watchdog_(std::move(watchdog)) {
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void MpiCommunicator::configure_allreduce(AllreduceAlgorithm algorithm, int ranks_per_node,
                                          const ClusterLinks& links) {
  owners_.reset();  // built over the old groups
  nodes_ = std::make_shared<NodeGroups>(comm_, ranks_per_node);
  owners_ = std::make_shared<ChunkOwners>(comm_, *nodes_);
  algorithm_ = algorithm;
  ranks_per_node_ = ranks_per_node;
  links_ = links;
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::allreduce(torch::Tensor& tensor, ReduceOp op) {
  require_host_contiguous(tensor, "allreduce");
  Watchdog::Guard guard(watchdog_.get(), "allreduce", phase_, timeout_s_);
  SPROUT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), static_cast<int>(tensor.numel()),
                                 mpi_datatype(tensor), mpi_op(op), comm_));
  finish_avg(tensor, op, size_);
}

std::shared_ptr<Work> MpiCommunicator::allreduce_async(torch::Tensor tensor, ReduceOp op) {
  require_host_contiguous(tensor, "allreduce");
  MPI_Request req;
  SPROUT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, tensor.data_ptr(), static_cast<int>(tensor.numel()),
                                  mpi_datatype(tensor), mpi_op(op), comm_, &req));
  return std::make_shared<MpiWork>(req, tensor, op, size_, watchdog_.get(), phase_, timeout_s_);
}

void MpiCommunicator::broadcast(torch::Tensor& tensor, int root) {
  require_host_contiguous(tensor, "broadcast");
  Watchdog::Guard guard(watchdog_.get(), "broadcast", phase_, timeout_s_);
  SPROUT_MPI_CHECK(MPI_Bcast(tensor.data_ptr(), static_cast<int>(tensor.numel()),
                             mpi_datatype(tensor), root, comm_));
}

torch::Tensor MpiCommunicator::allgather(const torch::Tensor& tensor) {
  auto in = tensor.contiguous();
  require_host_contiguous(in, "allgather");
  std::vector<int64_t> shape{size_};
  for (auto d : in.sizes()) shape.push_back(d);
  auto out = torch::empty(shape, in.options());
  Watchdog::Guard guard(watchdog_.get(), "allgather", phase_, timeout_s_);
  const int n = static_cast<int>(in.numel());
  SPROUT_MPI_CHECK(MPI_Allgather(in.data_ptr(), n, mpi_datatype(in), out.data_ptr(), n,
                                 mpi_datatype(in), comm_));
  return out;
}

void MpiCommunicator::barrier() {
  Watchdog::Guard guard(watchdog_.get(), "barrier", phase_, timeout_s_);
  SPROUT_MPI_CHECK(MPI_Barrier(comm_));
}

std::unique_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  MPI_Comm sub;
  {
    Watchdog::Guard guard(watchdog_.get(), "split", phase_, timeout_s_);
    SPROUT_MPI_CHECK(MPI_Comm_split(comm_, color, key, &sub));
  }
  auto child = std::make_unique<MpiCommunicator>(sub, watchdog_);
  child->set_timeout(timeout_s_);
  child->set_phase(phase_);
  // The engine reduces on a communicator split from the one configured: it inherits the
  // algorithm, and its ranks are grouped into nodes the same way (when the split keeps
  // every rank, as the engine's does, into the same nodes).
  if (nodes_) child->configure_allreduce(algorithm_, ranks_per_node_, links_);
  return child;
}

void MpiCommunicator::abort(int code) { MpiEnvironment::abort_job("", code); }

}  // namespace sprout::runtime
