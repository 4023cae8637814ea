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
//   scattered (reduce-scatter inside):  2(L−1)·(α_node + β_node·b/L)           reduce-scatter and allgather
//                                                                              inside the node
//                                       + min(ring, recursive doubling) of b/L over the M nodes, between
//                                         them, on a link of α_between + L·β_between
// The scattered one's L allreduces between nodes (one per chunk) run at once and share the
// node's one link to the network, each at 1/L of its bandwidth: the bytes leaving a node
// are those of the leader-based one, in L concurrent streams (one network card per node, as
// on the namespace cluster and most CPU clusters; with a card per rank β_between would not
// be multiplied). So it is never slower than the leader-based one in this model (less
// inside the node, the same between), and beats the flat ring where latency dominates.
// A flat ring spanning several nodes is paced by its slowest hop (flat_link).
#pragma once

#include <string>
#include <vector>

namespace sprout::runtime {

enum class AllreduceAlgorithm { Auto, Ring, Hierarchical, Scattered, Mpi };

const char* to_string(AllreduceAlgorithm algorithm);
// "auto" | "ring" | "hierarchical" | "scattered" | "mpi"; throws ConfigError naming `option` and the value.
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
double scattered_hierarchical_seconds(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links);
// The link each of the scattered one's L concurrent allreduces between nodes sees:
// α_between, L·β_between (they share the node's network link). Its algorithm between nodes
// is cheaper_leader_algorithm(nodes, b/L, this link).
LinkCost scattered_between_link(int ranks_per_node, const ClusterLinks& links);
// The time of `algorithm` (Ring, Hierarchical or Scattered) by the formulas above.
double allreduce_seconds(AllreduceAlgorithm algorithm, int nodes, int ranks_per_node, double bytes,
                         const ClusterLinks& links);

// What runtime.allreduce = auto takes for a bucket of `bytes` on several nodes: the
// cheapest of the flat ring, hierarchical and scattered by the formulas above; a tie goes to
// the earlier of the three (the ring first). Ring on one node or with one rank per node.
AllreduceAlgorithm cheapest_allreduce(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links);

// cheapest_allreduce over bucket sizes: from `from_bytes` on (a power of two from 4 B to
// 4 GiB; the first segment from 0), `algorithm` wins — until the next segment's start.
struct AutoSegment {
  double from_bytes = 0;
  AllreduceAlgorithm algorithm = AllreduceAlgorithm::Ring;
};
std::vector<AutoSegment> auto_segments(int nodes, int ranks_per_node, const ClusterLinks& links);
// The segments in words: "hierarchical below 64 KiB, scattered below 16 MiB, ring from there
// on", or "ring at every bucket size".
std::string describe_auto_segments(const std::vector<AutoSegment>& segments);

}  // namespace sprout::runtime
