// Hierarchical sum-allreduce of one flat gradient bucket, for jobs spanning several nodes,
// where a flat ring pays 2(N−1) latencies per bucket on its slowest (between-node) hop:
//   1. reduce inside each node: the node's leader (its first rank) receives every other
//      rank's buffer, in node-rank order, and adds each in: ((x0 + x1) + x2) + …
//   2. allreduce among the leaders, one per node: the ring (RingAllreduce) for large
//      buckets, recursive doubling for small ones (the α–β model of
//      runtime/comm/allreduce_cost.h picks, or the caller);
//   3. broadcast inside the node: the leader sends the result to every other rank.
// Like RingAllreduce it is nonblocking, built from MPI_Isend / MPI_Irecv, and advances when
// its owner calls test() (the engine does so from every gradient hook), so buckets are
// reduced while backward computes.
//
// Determinism: every rank ends with the leader's bits (step 3 copies them); the leaders
// agree bitwise because the ring sums each chunk once and copies it, and each recursive
// doubling exchange adds the same two values on both partners (a + b == b + a exactly in
// IEEE arithmetic). The sum order is fixed by the node grouping alone, never by timing.
//
// Contract: every rank of the groups' communicator starts the same operations (same element
// count, dtype, tag) in the same order; `flat` stays alive and untouched until completion.
#pragma once

#include <mpi.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/comm/allreduce_cost.h"
#include "runtime/comm/communicator.h"
#include "runtime/comm/watchdog.h"

namespace sprout::runtime {

// The ranks of a communicator grouped into nodes: a communicator per node and one among the
// nodes' leaders. Built collectively; owns (and frees) both communicators.
class NodeGroups {
 public:
  // ranks_per_node = 0: the nodes MPI reports (ranks sharing memory,
  // MPI_COMM_TYPE_SHARED); K > 0: consecutive blocks of K ranks pose as nodes (tests and
  // measurements of several nodes on one machine). Collective over `comm`.
  NodeGroups(MPI_Comm comm, int ranks_per_node);
  ~NodeGroups();
  NodeGroups(const NodeGroups&) = delete;
  NodeGroups& operator=(const NodeGroups&) = delete;

  MPI_Comm node() const { return node_; }
  MPI_Comm leaders() const { return leaders_; }  // MPI_COMM_NULL on ranks that are not leaders
  int node_rank() const { return node_rank_; }
  int node_size() const { return node_size_; }
  int node_count() const { return node_count_; }
  int max_node_size() const { return max_node_size_; }
  bool is_leader() const { return node_rank_ == 0; }

 private:
  MPI_Comm node_ = MPI_COMM_NULL, leaders_ = MPI_COMM_NULL;
  int node_rank_ = 0, node_size_ = 1, node_count_ = 1, max_node_size_ = 1;
};

// Nonblocking recursive-doubling sum-allreduce over `comm`: ⌈log2 n⌉ exchanges of the
// whole buffer (ranks beyond the largest power of two fold into a partner first and get
// the result last). Latency-optimal for small buffers. `scratch`: at least numel elements
// of flat's dtype (allocated when it is not).
class RecursiveDoublingAllreduce final : public Work {
 public:
  RecursiveDoublingAllreduce(MPI_Comm comm, torch::Tensor flat, torch::Tensor scratch, int tag, Watchdog* dog,
                             std::string phase, double timeout_s);
  ~RecursiveDoublingAllreduce() override;
  RecursiveDoublingAllreduce(const RecursiveDoublingAllreduce&) = delete;
  RecursiveDoublingAllreduce& operator=(const RecursiveDoublingAllreduce&) = delete;

  bool test() override;
  void wait() override;

 private:
  struct Round {
    int send_to = -1, recv_from = -1;  // -1: none
    bool add = false;                  // add the received buffer in (else it is the result)
  };
  void post();
  void complete();

  MPI_Comm comm_;
  torch::Tensor flat_, scratch_;
  int tag_;
  std::vector<Round> rounds_;
  size_t step_ = 0;
  MPI_Request requests_[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  MPI_Datatype type_;
  Watchdog* dog_;
  std::string phase_;
  double timeout_s_;
};

class HierarchicalAllreduce final : public Work {
 public:
  // Starts the sum of `flat` (contiguous, floating, CPU) over every rank of `groups`.
  // `scratch` (leaders: at least numel elements, reused across steps) is allocated when it
  // is too small. `groups` must outlive the operation.
  HierarchicalAllreduce(const NodeGroups& groups, torch::Tensor flat, torch::Tensor scratch, int tag,
                        LeaderAlgorithm leader_algorithm, Watchdog* dog, std::string phase, double timeout_s);
  ~HierarchicalAllreduce() override;
  HierarchicalAllreduce(const HierarchicalAllreduce&) = delete;
  HierarchicalAllreduce& operator=(const HierarchicalAllreduce&) = delete;

  bool test() override;
  void wait() override;

 private:
  enum class Stage { Reduce, Leaders, Broadcast, Done };
  void post_next();      // posts the next messages (or the leaders' allreduce), or finishes
  void messages_done();  // the posted messages completed (reduce stage: adds the received buffer in)

  const NodeGroups& groups_;
  torch::Tensor flat_, scratch_;
  int tag_;
  LeaderAlgorithm leader_algorithm_;
  Stage stage_ = Stage::Reduce;
  int next_peer_ = 1;    // leader, reduce stage: node rank whose buffer comes next
  bool posted_ = false;  // this stage's single batch of messages (or leaders' work) started
  std::vector<MPI_Request> requests_;
  std::unique_ptr<Work> leaders_;
  MPI_Datatype type_;
  Watchdog* dog_;
  std::string phase_;
  double timeout_s_;
};

}  // namespace sprout::runtime
