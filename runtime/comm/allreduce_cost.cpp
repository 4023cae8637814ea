#include "runtime/comm/allreduce_cost.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace sprout::runtime {

const char* to_string(AllreduceAlgorithm algorithm) {
  switch (algorithm) {
    case AllreduceAlgorithm::Auto: return "auto";
    case AllreduceAlgorithm::Ring: return "ring";
    case AllreduceAlgorithm::Hierarchical: return "hierarchical";
    case AllreduceAlgorithm::Mpi: return "mpi";
  }
  return "?";
}

AllreduceAlgorithm parse_allreduce_algorithm(const std::string& text, const std::string& option) {
  for (auto a : {AllreduceAlgorithm::Auto, AllreduceAlgorithm::Ring, AllreduceAlgorithm::Hierarchical,
                 AllreduceAlgorithm::Mpi}) {
    if (text == to_string(a)) return a;
  }
  throw ConfigError(concat(option, " must be auto, ring, hierarchical or mpi, got '", text, "'"));
}

ClusterLinks default_cluster_links() {
  ClusterLinks l;
  l.node = {1e-6, 1.0 / 5e9};
  l.between = {20e-6, 1.0 / 1.25e9};
  return l;
}

double ring_allreduce_seconds(int ranks, double bytes, const LinkCost& link) {
  return 2.0 * ring_half_seconds(ranks, bytes, link);
}

double ring_half_seconds(int ranks, double bytes, const LinkCost& link) {
  if (ranks <= 1) return 0;
  return (ranks - 1) * link.message(bytes / ranks);
}

double recursive_doubling_seconds(int ranks, double bytes, const LinkCost& link) {
  if (ranks <= 1) return 0;
  int rounds = 0, pow2 = 1;
  while (pow2 * 2 <= ranks) {
    pow2 *= 2;
    ++rounds;
  }
  if (pow2 != ranks) rounds += 2;  // the extra ranks fold in first and get the result last
  return rounds * link.message(bytes);
}

LeaderAlgorithm cheaper_leader_algorithm(int leaders, double bytes, const LinkCost& link) {
  return recursive_doubling_seconds(leaders, bytes, link) <= ring_allreduce_seconds(leaders, bytes, link)
             ? LeaderAlgorithm::RecursiveDoubling
             : LeaderAlgorithm::Ring;
}

LinkCost flat_link(int nodes, const ClusterLinks& links) {
  if (nodes <= 1) return links.node;
  return {std::max(links.node.alpha_s, links.between.alpha_s),
          std::max(links.node.beta_s_per_byte, links.between.beta_s_per_byte)};
}

double flat_ring_seconds(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links) {
  return ring_allreduce_seconds(nodes * ranks_per_node, bytes, flat_link(nodes, links));
}

double hierarchical_seconds(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links) {
  const double inside = 2.0 * (ranks_per_node - 1) * links.node.message(bytes);
  const double leaders = std::min(ring_allreduce_seconds(nodes, bytes, links.between),
                                  recursive_doubling_seconds(nodes, bytes, links.between));
  return inside + leaders;
}

bool hierarchical_is_faster(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links) {
  return hierarchical_seconds(nodes, ranks_per_node, bytes, links) < flat_ring_seconds(nodes, ranks_per_node, bytes, links);
}

double hierarchical_crossover_bytes(int nodes, int ranks_per_node, const ClusterLinks& links) {
  const bool small_wins = hierarchical_is_faster(nodes, ranks_per_node, 4, links);
  for (double b = 8; b <= 4.0 * (1ull << 30); b *= 2) {
    if (hierarchical_is_faster(nodes, ranks_per_node, b, links) != small_wins) return b;
  }
  return -1;
}

}  // namespace sprout::runtime
