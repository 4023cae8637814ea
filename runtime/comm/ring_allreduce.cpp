#include "runtime/comm/ring_allreduce.h"

#include <limits>

#include "runtime/comm/abandon.h"
#include "runtime/error.h"
#include "runtime/comm/hierarchical_allreduce.h"
#include "runtime/comm/scattered_hierarchical_allreduce.h"
#include "runtime/comm/mpi_communicator.h"

namespace sprout::runtime {

// Ring of n ranks, buffer cut into n chunks; rank r sends to r+1 and receives from r−1.
//   reduce-scatter, step s in [0, n−1): send chunk r−s, receive chunk r−s−1 and add it in.
//     After it rank r holds chunk r+1 summed over all ranks, in the order
//     x[c] + x[c+1] + … (chain starting at the chunk's own index c = r+1).
//   allgather, step s in [n−1, 2n−2), t = s−(n−1): send chunk r+1−t, receive chunk r−t
//     straight into place.
// All indices mod n.

RingAllreduce::RingAllreduce(MPI_Comm comm, torch::Tensor flat, torch::Tensor scratch, int tag, Watchdog* dog,
                             std::string phase, double timeout_s, bool reduce_scatter_only)
    : comm_(comm), flat_(std::move(flat)), scratch_(std::move(scratch)), tag_(tag), dog_(dog),
      phase_(std::move(phase)), timeout_s_(timeout_s) {
  SPROUT_CHECK(flat_.defined() && flat_.is_contiguous() && flat_.device().is_cpu() && flat_.dim() == 1 &&
                   flat_.is_floating_point(),
               CommError, "ring allreduce: bucket must be a 1-D contiguous floating CPU tensor");
  SPROUT_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  SPROUT_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  last_step_ = reduce_scatter_only ? size_ - 1 : 2 * (size_ - 1);
  type_ = mpi_datatype(flat_);
  const int64_t max_chunk = (flat_.numel() + size_ - 1) / size_;
  SPROUT_CHECK(max_chunk <= std::numeric_limits<int>::max(), CommError, "ring allreduce: chunk of ", max_chunk,
               " elements exceeds MPI's int count");
  if (!scratch_.defined() || scratch_.numel() < max_chunk || scratch_.scalar_type() != flat_.scalar_type()) {
    scratch_ = torch::empty({std::max<int64_t>(max_chunk, 1)}, flat_.options());
  }
  if (size_ > 1) post();
}

RingAllreduce::~RingAllreduce() {
  if (step_ < last_step_) abandon_unfinished(requests_, 2, flat_, scratch_);  // see the header
}

int64_t RingAllreduce::chunk_begin(int k) const { return ring_chunk_begin(flat_.numel(), size_, k); }

void RingAllreduce::post() {
  const int n = size_, r = rank_;
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  int send_chunk, recv_chunk;
  char* recv_at;
  if (step_ < n - 1) {
    send_chunk = ((r - step_) % n + n) % n;
    recv_chunk = ((r - step_ - 1) % n + n) % n;
    recv_at = static_cast<char*>(scratch_.data_ptr());
  } else {
    const int t = step_ - (n - 1);
    send_chunk = ((r + 1 - t) % n + n) % n;
    recv_chunk = ((r - t) % n + n) % n;
    recv_at = static_cast<char*>(flat_.data_ptr()) + chunk_begin(recv_chunk) * flat_.element_size();
  }
  char* send_at = static_cast<char*>(flat_.data_ptr()) + chunk_begin(send_chunk) * flat_.element_size();
  SPROUT_MPI_CHECK(MPI_Irecv(recv_at, static_cast<int>(chunk_size(recv_chunk)), type_, left, tag_, comm_,
                             &requests_[0]));
  SPROUT_MPI_CHECK(MPI_Isend(send_at, static_cast<int>(chunk_size(send_chunk)), type_, right, tag_, comm_,
                             &requests_[1]));
}

void RingAllreduce::complete() {
  const int n = size_;
  if (step_ < n - 1) {
    const int c = ((rank_ - step_ - 1) % n + n) % n;
    const int64_t len = chunk_size(c);
    if (len > 0) {
      auto mine = flat_.narrow(0, chunk_begin(c), len);
      mine.add_(scratch_.narrow(0, 0, len));  // (len)
    }
  }
  ++step_;
  if (step_ < last_step_) post();
}

bool RingAllreduce::test() {
  while (step_ < last_step_) {
    int flag = 0;
    SPROUT_MPI_CHECK(MPI_Testall(2, requests_, &flag, MPI_STATUSES_IGNORE));
    if (!flag) return false;
    complete();
  }
  return true;
}

void RingAllreduce::wait() {
  if (step_ >= last_step_) return;
  Watchdog::Guard guard(dog_, "allreduce (ring)", phase_, timeout_s_);
  while (step_ < last_step_) {
    SPROUT_MPI_CHECK(MPI_Waitall(2, requests_, MPI_STATUSES_IGNORE));
    complete();
  }
}

BucketPath bucket_path(AllreduceAlgorithm algorithm, int world, int node_count, int max_node_size, double bytes,
                       const ClusterLinks& links) {
  if (world <= 1) return BucketPath::Collective;
  switch (algorithm) {
    case AllreduceAlgorithm::Mpi: return BucketPath::Collective;
    case AllreduceAlgorithm::Ring: return BucketPath::Ring;
    case AllreduceAlgorithm::Hierarchical: return BucketPath::Hierarchical;
    case AllreduceAlgorithm::Scattered: return BucketPath::Scattered;
    case AllreduceAlgorithm::Auto: break;
  }
  switch (cheapest_allreduce(node_count, max_node_size, bytes, links)) {
    case AllreduceAlgorithm::Hierarchical: return BucketPath::Hierarchical;
    case AllreduceAlgorithm::Scattered: return BucketPath::Scattered;
    default: return bytes >= kRingMinBytes ? BucketPath::Ring : BucketPath::Collective;
  }
}

int64_t bucket_scratch_numel(BucketPath path, int64_t numel, int world, const NodePlace& place) {
  switch (path) {
    case BucketPath::Collective: return 0;
    case BucketPath::Ring: return (numel + world - 1) / world;
    case BucketPath::Hierarchical: return place.node_rank == 0 ? numel : 0;
    case BucketPath::Scattered:
      return scattered_scratch_numel(numel, place.node_count, place.max_node_size, place.node_size, place.node_rank);
  }
  return 0;
}

namespace {

BucketPath path_of(const Communicator& comm, int64_t numel, int64_t element_size) {
  const auto* mpi = dynamic_cast<const MpiCommunicator*>(&comm);
  if (mpi == nullptr) return BucketPath::Collective;
  const NodeGroups* nodes = mpi->node_groups();
  const BucketPath path = bucket_path(mpi->allreduce_algorithm(), comm.size(), nodes ? nodes->node_count() : 0,
                                      nodes ? nodes->max_node_size() : 0, static_cast<double>(numel * element_size),
                                      mpi->allreduce_links());
  SPROUT_CHECK((path != BucketPath::Hierarchical && path != BucketPath::Scattered) || nodes != nullptr, ConfigError,
               "hierarchical allreduce: the communicator has no node groups (configure_allreduce first)");
  return path;
}

}  // namespace

int64_t ring_scratch_numel(const Communicator& comm, int64_t numel, int64_t element_size) {
  const BucketPath path = path_of(comm, numel, element_size);
  const auto* mpi = dynamic_cast<const MpiCommunicator*>(&comm);
  NodePlace place;
  if (mpi != nullptr && mpi->node_groups() != nullptr) {
    const NodeGroups& g = *mpi->node_groups();
    place = {g.node_count(), g.max_node_size(), g.node_size(), g.node_rank()};
  }
  return bucket_scratch_numel(path, numel, comm.size(), place);
}

std::shared_ptr<Work> start_sum_allreduce(Communicator& comm, torch::Tensor flat, torch::Tensor scratch, int tag,
                                          bool reduce_scatter_only) {
  const BucketPath path = path_of(comm, flat.numel(), flat.element_size());
  if (path == BucketPath::Collective) return comm.allreduce_async(std::move(flat), ReduceOp::Sum);
  auto& mpi = static_cast<MpiCommunicator&>(comm);
  if (path == BucketPath::Hierarchical) {
    const NodeGroups& nodes = *mpi.node_groups();
    const double bytes = static_cast<double>(flat.numel() * flat.element_size());
    const LeaderAlgorithm leader = cheaper_leader_algorithm(nodes.node_count(), bytes, mpi.allreduce_links().between);
    return std::make_shared<HierarchicalAllreduce>(nodes, std::move(flat), std::move(scratch), tag, leader,
                                                   mpi.watchdog(), comm.phase(), comm.timeout());
  }
  if (path == BucketPath::Scattered) {
    const NodeGroups& nodes = *mpi.node_groups();
    const double chunk_bytes = static_cast<double>(flat.numel() * flat.element_size()) / nodes.max_node_size();
    const LeaderAlgorithm between = cheaper_leader_algorithm(
        nodes.node_count(), chunk_bytes, scattered_between_link(nodes.max_node_size(), mpi.allreduce_links()));
    return std::make_shared<ScatteredHierarchicalAllreduce>(nodes, *mpi.chunk_owners(), std::move(flat),
                                                            std::move(scratch), tag, between, mpi.watchdog(),
                                                            comm.phase(), comm.timeout());
  }
  return std::make_shared<RingAllreduce>(mpi.handle(), std::move(flat), std::move(scratch), tag, mpi.watchdog(),
                                         comm.phase(), comm.timeout(), reduce_scatter_only);
}

void configure_allreduce(Communicator& comm, AllreduceAlgorithm algorithm, int ranks_per_node,
                         const ClusterLinks& links) {
  auto* mpi = dynamic_cast<MpiCommunicator*>(&comm);
  if (mpi == nullptr) {
    SPROUT_CHECK(algorithm == AllreduceAlgorithm::Auto, ConfigError, "runtime.allreduce=", to_string(algorithm),
                 " needs the MPI backend; the ", comm.backend(), " backend reduces with its own collective");
    return;
  }
  mpi->configure_allreduce(algorithm, ranks_per_node, links);
}

}  // namespace sprout::runtime
