// MPI implementation of Communicator, and the process-wide MPI environment.
#pragma once

#include <mpi.h>

#include <memory>

#include "runtime/comm/allreduce_cost.h"
#include "runtime/comm/communicator.h"
#include "runtime/comm/watchdog.h"

namespace sprout::runtime {

class NodeGroups;   // runtime/comm/hierarchical_allreduce.h
class ChunkOwners;  // runtime/comm/scattered_hierarchical_allreduce.h

// Initialises MPI (MPI_THREAD_MULTIPLE requested) for the lifetime of the object and
// owns the collective watchdog. Construct exactly once, first thing in main.
class MpiEnvironment {
 public:
  MpiEnvironment(int* argc, char*** argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  // A communicator over MPI_COMM_WORLD (duplicated, so sprout's traffic is its own).
  std::unique_ptr<Communicator> world();
  int world_rank() const { return world_rank_; }
  int world_size() const { return world_size_; }
  // Ranks sharing this node, and this rank's index among them.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  int thread_level() const { return thread_level_; }

  // Ends the whole job now: prints `message` (if any) on stderr and MPI_Aborts.
  [[noreturn]] static void abort_job(const std::string& message, int code);

 private:
  int world_rank_ = 0, world_size_ = 1, local_rank_ = 0, local_size_ = 1;
  int thread_level_ = 0;
  std::shared_ptr<Watchdog> watchdog_;
};

class MpiCommunicator final : public Communicator {
 public:
  // Takes ownership of `comm` (freed on destruction unless it is MPI_COMM_WORLD).
  MpiCommunicator(MPI_Comm comm, std::shared_ptr<Watchdog> watchdog);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void allreduce(torch::Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<Work> allreduce_async(torch::Tensor tensor, ReduceOp op) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  torch::Tensor allgather(const torch::Tensor& tensor) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  [[noreturn]] void abort(int code) override;

  MPI_Comm handle() const { return comm_; }
  Watchdog* watchdog() const { return watchdog_.get(); }

  // The algorithm of start_sum_allreduce (runtime/comm/ring_allreduce.h) for gradient
  // buckets, and the grouping of ranks into nodes the hierarchical one and the automatic
  // choice use (ranks_per_node: see NodeGroups). Collective. Until it is called: auto,
  // without node groups (the flat ring, or MPI's own collective for small buckets).
  // `links`: what auto and the hierarchical leaders' algorithm are costed on.
  // Communicators split from this one inherit all three.
  void configure_allreduce(AllreduceAlgorithm algorithm, int ranks_per_node,
                           const ClusterLinks& links = default_cluster_links());
  AllreduceAlgorithm allreduce_algorithm() const { return algorithm_; }
  const ClusterLinks& allreduce_links() const { return links_; }
  const NodeGroups* node_groups() const { return nodes_.get(); }
  // The scattered hierarchical allreduce's communicators over node_groups() (built with them).
  const ChunkOwners* chunk_owners() const { return owners_.get(); }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::shared_ptr<Watchdog> watchdog_;
  AllreduceAlgorithm algorithm_ = AllreduceAlgorithm::Auto;
  std::shared_ptr<NodeGroups> nodes_;
  std::shared_ptr<ChunkOwners> owners_;
  int ranks_per_node_ = 0;
  ClusterLinks links_ = default_cluster_links();
};

// MPI datatype of a tensor's dtype; throws CommError for unsupported dtypes.
MPI_Datatype mpi_datatype(const torch::Tensor& tensor);
MPI_Op mpi_op(ReduceOp op);

}  // namespace sprout::runtime

// Wraps an MPI call: on failure throws CommError with file:line and MPI's own message.
#define SPROUT_MPI_CHECK(call) ::sprout::runtime::detail::check_mpi((call), #call, __FILE__, __LINE__)

namespace sprout::runtime::detail {
void check_mpi(int code, const char* call, const char* file, int line);
}
