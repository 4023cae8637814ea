// Nonblocking sum-allreduce of one flat gradient bucket, the collective of the
// data-parallel engine (runtime/engine/bucket_reducer.h).
//
// Why not MPI_Iallreduce: Open MPI 4.1's nonblocking collectives (coll/libnbc) reduce an
// in-place buffer — and any buffer on fewer than 4 ranks — with a binomial tree: the whole
// buffer travels to one root and back. It measured ~2× slower than blocking MPI_Allreduce
// at 1–16 MB on shared memory. RingAllreduce is the bandwidth-optimal ring (reduce-scatter, then
// allgather: each rank sends and receives 2(n−1)/n of the buffer) built from MPI_Isend /
// MPI_Irecv, so it runs while backward computes and matches the blocking collective.
//
// Progress: MPI moves data only while some thread is inside the MPI library, so the
// operation advances when its owner calls test() (the engine does so from every gradient
// hook) and completes in wait(). No progress thread: with one core per rank it would
// compete with backward for the same core (Open MPI's progress loop spins).
//
// Determinism: each chunk is summed once, by a fixed chain of ranks, and then copied to
// everybody, so every rank ends with the same bits, whatever the timing.
//
// Contract: every rank of `comm` starts the same operations (same element count, dtype,
// tag) in the same order; `flat` stays alive and untouched until the operation completes.
#pragma once

#include <mpi.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "runtime/comm/allreduce_cost.h"
#include "runtime/comm/communicator.h"
#include "runtime/comm/watchdog.h"

namespace sprout::runtime {

class RingAllreduce final : public Work {
 public:
  // Starts the sum of `flat` (contiguous, floating, CPU) over `comm`. `scratch`, when
  // defined, is a buffer of at least ceil(numel / size) elements of flat's dtype, reused
  // across steps (it saves page faults on every step); otherwise one is allocated.
  // Messages use `tag`: operations in flight at the same time need distinct tags.
  // reduce_scatter_only: stop after the first half; then only chunk
  // ring_owned_chunk(rank, size) of `flat` holds the sum (bitwise what the full operation
  // leaves there on every rank).
  RingAllreduce(MPI_Comm comm, torch::Tensor flat, torch::Tensor scratch, int tag, Watchdog* dog,
                std::string phase, double timeout_s, bool reduce_scatter_only = false);
  // Never blocks. An unfinished operation is only destroyed while an exception unwinds
  // (the job is about to end); its buffers are then kept alive so that late messages land
  // in valid memory.
  ~RingAllreduce() override;
  RingAllreduce(const RingAllreduce&) = delete;
  RingAllreduce& operator=(const RingAllreduce&) = delete;

  bool test() override;
  void wait() override;
  // Message rounds completed so far (2(size−1) when done, size−1 for a reduce-scatter): lets a waiter tell a transfer
  // that is moving from a peer that has not arrived yet.
  int rounds_done() const { return step_; }

 private:
  int64_t chunk_begin(int k) const;
  int64_t chunk_size(int k) const { return chunk_begin(k + 1) - chunk_begin(k); }
  void post();      // posts the messages of step_
  void complete();  // consumes the messages of step_ (reduces in the reduce-scatter half)

  MPI_Comm comm_;
  torch::Tensor flat_, scratch_;
  int tag_, rank_ = 0, size_ = 1;
  int step_ = 0;  // 0 .. last_step_; the last value means done
  int last_step_ = 0;  // 2(size−1), or size−1 for a reduce-scatter
  MPI_Request requests_[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  MPI_Datatype type_;
  Watchdog* dog_;
  std::string phase_;
  double timeout_s_;
};

// Buckets smaller than this go through the communicator's own allreduce_async, where a
// latency-optimal tree beats the ring's 2(n−1) message rounds (runtime.allreduce = auto on
// one node).
inline constexpr int64_t kRingMinBytes = 64 * 1024;

// Starts the sum-allreduce of `flat` over `comm`, by the communicator's algorithm
// (MpiCommunicator::configure_allreduce; other backends: their own allreduce_async):
//   mpi           the communicator's allreduce_async (MPI's own collective);
//   ring          the ring below;
//   hierarchical  HierarchicalAllreduce (runtime/comm/hierarchical_allreduce.h), the
//                 leaders' algorithm picked by the α–β model (runtime/comm/allreduce_cost.h);
//   scattered     ScatteredHierarchicalAllreduce (runtime/comm/scattered_hierarchical_allreduce.h),
//                 the algorithm between nodes picked likewise for the chunk size;
//   auto          on several nodes of more than one rank: the cheapest of ring,
//                 hierarchical and scattered for this bucket size (cheapest_allreduce);
//                 otherwise — and where the ring is cheapest — the ring for buckets of at
//                 least kRingMinBytes and allreduce_async below.
// Deterministic in (algorithm, node grouping, size, bytes, links), so every rank — and every
// run with the same buckets — picks the same algorithm. reduce_scatter_only: only chunk
// ring_owned_chunk(rank, size) is needed (the ring stops after its first half; the other
// paths reduce everything).
std::shared_ptr<Work> start_sum_allreduce(Communicator& comm, torch::Tensor flat, torch::Tensor scratch,
                                          int tag, bool reduce_scatter_only = false);

// The ring's cut of `numel` elements into `size` chunks: chunk k starts here.
inline int64_t ring_chunk_begin(int64_t numel, int size, int k) { return numel * k / size; }
// The chunk a rank holds summed after the reduce-scatter half of the ring.
inline int ring_owned_chunk(int rank, int size) { return (rank + 1) % size; }

// How start_sum_allreduce reduces a bucket of `bytes` under `algorithm` on `world` ranks,
// grouped into `node_count` nodes of at most `max_node_size` ranks (0: no node groups);
// auto compares the α–β costs of ring, hierarchical and scattered over `links` (the
// calibration's, or the built-in defaults). A pure function: the memory model
// (growth/models/memory_estimate.h) predicts with it.
enum class BucketPath { Collective, Ring, Hierarchical, Scattered };
BucketPath bucket_path(AllreduceAlgorithm algorithm, int world, int node_count, int max_node_size, double bytes,
                       const ClusterLinks& links = default_cluster_links());

// Where a rank sits among the node groups (NodeGroups' figures).
struct NodePlace {
  int node_count = 1, max_node_size = 1;  // nodes, ranks of the largest
  int node_size = 1, node_rank = 0;       // this rank's node
};
// Scratch elements that path needs on a rank: the ring ⌈numel/world⌉, a hierarchical node
// leader numel (others none), scattered scattered_scratch_numel.
int64_t bucket_scratch_numel(BucketPath path, int64_t numel, int world, const NodePlace& place);

// Scratch start_sum_allreduce over `comm` needs on this rank for `numel` elements (0 when
// its algorithm needs none).
int64_t ring_scratch_numel(const Communicator& comm, int64_t numel, int64_t element_size);

// Sets the bucket allreduce algorithm of `comm` and groups its ranks into nodes
// (ranks_per_node: 0 = as MPI reports, K = consecutive blocks of K ranks); `links` are what
// auto's per-bucket choice and the hierarchical leaders' algorithm are costed on — give every
// rank the same ones (they decide the sum order). Collective. Throws ConfigError when `comm`
// is not an MPI communicator and the algorithm is not auto.
void configure_allreduce(Communicator& comm, AllreduceAlgorithm algorithm, int ranks_per_node,
                         const ClusterLinks& links = default_cluster_links());

}  // namespace sprout::runtime
