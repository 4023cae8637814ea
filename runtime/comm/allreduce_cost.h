// The α–β cost model of the allreduce algorithms sprout runs: the runtime's automatic
// choice per bucket (runtime.allreduce = auto) and `sprout plan`'s step-time predictions
// use these same formulas, so the plan predicts what the engine will do.
//
// A message of b bytes over a link costs α + β·b (α: latency in s, β: s per byte). The
// formulas are the classic ones of Thakur, Rabenseifner & Gropp, "Optimization of
// Collective Communication Operations in MPICH" (IJHPCA 2005), with the reduction's
// arithmetic folded into β:
//   ring (reduce-scatter + allgather):  2(n−1)·α + 2(n−1)/n·β·b
//   recursive doubling:                 ⌈log2 n⌉·(α + β·b)   (+2 rounds when n is not a power of two)
//   hierarchical (this runtime's):      2(L−1)·(α_node + β_node·b)             reduce to the node's leader,
//                                                                              broadcast back
//                                       + min(ring, recursive doubling) over the M leaders, between nodes
// A flat ring spanning several nodes is paced by its slowest hop (flat_link).
#pragma once

#include <string>

namespace sprout::runtime {

enum class AllreduceAlgorithm { Auto, Ring, Hierarchical, Mpi };

const char* to_string(AllreduceAlgorithm algorithm);
// "auto" | "ring" | "hierarchical" | "mpi"; throws ConfigError naming `option` and the value.
AllreduceAlgorithm parse_allreduce_algorithm(const std::string& text, const std::string& option);

struct LinkCost {
  double alpha_s = 0;          // latency per message
  double beta_s_per_byte = 0;  // inverse bandwidth
  double message(double bytes) const { return alpha_s + beta_s_per_byte * bytes; }
};

struct ClusterLinks {
  LinkCost node;     // between ranks of one node (shared memory)
  LinkCost between;  // between nodes
};

// Hierarchical wins at `bytes` (what runtime.allreduce = auto picks on several nodes).
bool hierarchical_is_faster(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links);

// Defaults of the runtime's automatic choice when no calibration is given: shared memory
// (1 µs, 5 GB/s) and 10 Gb Ethernet (20 µs, 1.25 GB/s).
ClusterLinks default_cluster_links();

double ring_allreduce_seconds(int ranks, double bytes, const LinkCost& link);
double recursive_doubling_seconds(int ranks, double bytes, const LinkCost& link);
// Reduce-scatter or allgather alone: half of the ring.
double ring_half_seconds(int ranks, double bytes, const LinkCost& link);

// The leaders' algorithm inside the hierarchical allreduce.
enum class LeaderAlgorithm { Ring, RecursiveDoubling };
LeaderAlgorithm cheaper_leader_algorithm(int leaders, double bytes, const LinkCost& link);

// The link a flat collective over `nodes` nodes is paced by: its slowest hop (the slower α
// and β of the two links; the node's own link on one node).
LinkCost flat_link(int nodes, const ClusterLinks& links);

// `nodes` nodes of `ranks_per_node` ranks each.
double flat_ring_seconds(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links);
double hierarchical_seconds(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links);

// Smallest bucket size (a power of two from 4 B to 4 GiB) at which the predicted winner
// between the hierarchical allreduce and the flat ring differs from the winner at 4 B;
// -1 when the same algorithm wins at every size.
double hierarchical_crossover_bytes(int nodes, int ranks_per_node, const ClusterLinks& links);

}  // namespace sprout::runtime
