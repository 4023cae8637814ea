// Node groups and the collective merge across them.
//
// The world is split into `count` node groups of consecutive ranks; a group trains one
// expert data-parallel on its own communicator, and the groups' experts are merged by a
// collective — no process ever holds another group's expert.
//
// Note [Collective merge scheme]
// The merge runs on the group leaders' communicator (one rank per group, the group's rank
// 0) and the result is broadcast inside each group:
//  1. every leader checks its experts against the base locally, then one allgather of four
//     integers per leader (layout hash, number of experts, finite?, local error?) lets all
//     leaders agree on whether to go on — a mismatch is a named error on every rank,
//     never a hang in a data collective of the wrong length;
//  2. the method's reductions over experts (merge/task_vectors.h), each one allreduce of
//     all parameters as one flat buffer: magmax two (Max, Min), average, task_arithmetic,
//     random and task_specific one Sum, ties two Sums, soft_magmax a Max and a Sum; then one Sum for batch-norm statistics and
//     one Max for integer counters if the model has them (Note [What is merged]);
//  3. each leader broadcasts a status and the merged tensors in its group.
// Why leaders and not every rank: groups may have different sizes (5 ranks in 2 groups),
// the cross-group traffic is one message stream per group rather than per rank, and every
// rank ends with the leader's bits (allreduce results are identical on every rank, so the
// leaders agree). Only Sum, Max and Min are used, so an NCCL communicator works as well.
#pragma once

#include <memory>
#include <vector>

#include "merge/method.h"
#include "merge/tensor_bundle.h"
#include "runtime/comm/communicator.h"

namespace sprout::merge {

// Group of world rank `rank` when `world` ranks form `count` groups: group g holds ranks
// [⌈g·world/count⌉ … ⌈(g+1)·world/count⌉), sizes differing by at most one.
int node_group_of(int rank, int world, int count);
int node_group_first_rank(int group, int world, int count);

struct NodeGroups {
  int index = 0;  // this rank's group, in [0, count)
  int count = 1;
  std::unique_ptr<runtime::Communicator> group;    // this group's ranks; rank 0 is its leader
  std::unique_ptr<runtime::Communicator> leaders;  // leaders only: rank == group index; else null
  bool leader() const { return group->rank() == 0; }

 private:
  friend NodeGroups split_node_groups(runtime::Communicator& world, int count);
  std::unique_ptr<runtime::Communicator> non_leaders_;  // the other half of the leaders' split
};

// Splits `world` into `count` node groups. Collective over `world`. ConfigError when count
// is not in [1, world.size()] (checked before any collective, identically on every rank).
NodeGroups split_node_groups(runtime::Communicator& world, int count);

// Merges the experts the node groups hold (Note [Collective merge scheme]). Every rank of
// the world calls it with the same method and options, the shared base and its group's
// experts `local` (identical on every rank of a group; any number, none included — a
// group without a task this round). λ is resolved for the total number of experts.
// Returns the merged model, bitwise identical on every rank; for magmax bitwise equal to
// merge_bundles() over the same experts. Errors (layouts, non-finite values, λ) are thrown
// on every rank with the same message.
TensorBundle collective_merge(const NodeGroups& groups, const MergeMethod& method, const TensorBundle& base,
                              const std::vector<TensorBundle>& local, const MergeOptions& options);

// Makes `bundle`'s values on every rank of `comm` equal to `root`'s, one broadcast per
// dtype. Every rank passes a bundle of the same layout (its values are overwritten).
void broadcast_bundle(runtime::Communicator& comm, TensorBundle& bundle, int root);

}  // namespace sprout::merge
