// Hierarchical sum-allreduce with a reduce-scatter stage inside each node, for buckets too
// large for the leader-based one (runtime/comm/hierarchical_allreduce.h), whose leader
// receives and sends L − 1 whole buckets:
//   1. reduce-scatter inside each node: the bucket is cut into L chunks (L: the largest
//      node's ranks; ring_chunk_begin's cut); in a node of s ranks, node rank j owns the
//      chunks k with k mod s = j, receives every other node rank's piece of them and sums
//      them in node-rank order ((x0 + x1) + x2) + …;
//   2. allreduce among nodes, chunk by chunk in increasing k: the owners of chunk k (one
//      per node) reduce it over their own communicator (ring or recursive doubling);
//   3. allgather inside each node: every owner sends its chunks to the other node ranks.
// Each rank moves 2(s − 1)/s of the bucket inside its node instead of the leader's
// 2(s − 1) whole buckets, and the network carries 1/L of the bucket per rank.
//
// Determinism: chunk k is summed once per node, in node-rank order; the owners of k agree
// bitwise after stage 2 (the ring copies each sum; recursive doubling adds the same two
// values on both partners) and stage 3 copies. So every rank ends with the same bits, and
// with at most 2 nodes they equal the node-order sum of HierarchicalAllreduce.
//
// Contract: as HierarchicalAllreduce (every rank starts the same operations in the same
// order; `flat` stays alive and untouched until completion). Nonblocking: advances in
// test(). The engine runs it for runtime.allreduce = scattered, or where auto's α–β model
// (allreduce_cost.h) prefers it (start_sum_allreduce, ring_allreduce.h).
#pragma once

#include <mpi.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/comm/allreduce_cost.h"
#include "runtime/comm/hierarchical_allreduce.h"

namespace sprout::runtime {

// The communicators of stage 2: for every chunk k of the cut into `nodes.max_node_size()`
// chunks, one among the ranks owning k (one per node). Collective over `comm`, the
// communicator `nodes` was built from; owns and frees them.
class ChunkOwners {
 public:
  ChunkOwners(MPI_Comm comm, const NodeGroups& nodes);
  ~ChunkOwners();
  ChunkOwners(const ChunkOwners&) = delete;
  ChunkOwners& operator=(const ChunkOwners&) = delete;

  int chunks() const { return static_cast<int>(comms_.size()); }
  bool owns(int k) const { return comms_[k] != MPI_COMM_NULL; }
  MPI_Comm comm(int k) const { return comms_[k]; }
  int owner(int k) const { return k % node_size_; }  // node rank owning chunk k

 private:
  std::vector<MPI_Comm> comms_;
  int node_size_ = 1;
};

class ScatteredHierarchicalAllreduce final : public Work {
 public:
  // Starts the sum of `flat` (contiguous, floating, CPU) over every rank of `nodes`;
  // `nodes` and `owners` must outlive the operation. `scratch`: at least
  // scattered_scratch_numel elements of flat's dtype, reused across steps (allocated when
  // it is smaller): the other node ranks' pieces of this rank's chunks, then the scratch of
  // the allreduce between nodes.
  ScatteredHierarchicalAllreduce(const NodeGroups& nodes, const ChunkOwners& owners, torch::Tensor flat,
                                 torch::Tensor scratch, int tag, LeaderAlgorithm between, Watchdog* dog,
                                 std::string phase, double timeout_s);
  ~ScatteredHierarchicalAllreduce() override;
  ScatteredHierarchicalAllreduce(const ScatteredHierarchicalAllreduce&) = delete;
  ScatteredHierarchicalAllreduce& operator=(const ScatteredHierarchicalAllreduce&) = delete;

  bool test() override;
  void wait() override;

 private:
  enum class Stage { Scatter, Between, Gather, Done };
  torch::Tensor chunk(int k) const;
  void post_scatter();
  void sum_owned_chunks();
  bool advance_between(bool block);  // true when every owned chunk is reduced among nodes
  void post_gather();
  bool requests_done(bool block);

  const NodeGroups& nodes_;
  const ChunkOwners& owners_;
  torch::Tensor flat_, scratch_;
  int tag_;
  LeaderAlgorithm between_;
  Stage stage_ = Stage::Scatter;
  std::vector<MPI_Request> requests_;
  std::vector<int> owned_;  // chunks this rank owns, increasing
  std::vector<int64_t> slot_;  // scratch offset of (node rank r, owned chunk i): slot_[i * s + r]
  size_t between_next_ = 0;
  std::unique_ptr<Work> between_work_;
  MPI_Datatype type_;
  Watchdog* dog_;
  std::string phase_;
  double timeout_s_;
};

// Scratch elements ScatteredHierarchicalAllreduce needs for `numel` on node rank `node_rank`
// of a node of `node_size` ranks, in `node_count` nodes of at most `max_node_size` (the cut):
// (node_size − 1) × the elements of the chunks it owns, and at least its largest chunk when
// there are other nodes (recursive doubling between them receives a whole chunk).
int64_t scattered_scratch_numel(int64_t numel, int node_count, int max_node_size, int node_size, int node_rank);

}  // namespace sprout::runtime
