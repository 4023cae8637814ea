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
    case AllreduceAlgorithm::Scattered: return "scattered";
    case AllreduceAlgorithm::Mpi: return "mpi";
  }
  return "?";
}

AllreduceAlgorithm parse_allreduce_algorithm(const std::string& text, const std::string& option) {
  for (auto a : {AllreduceAlgorithm::Auto, AllreduceAlgorithm::Ring, AllreduceAlgorithm::Hierarchical,
                 AllreduceAlgorithm::Scattered, AllreduceAlgorithm::Mpi}) {
    if (text == to_string(a)) return a;
  }
  throw ConfigError(concat(option, " must be auto, ring, hierarchical, scattered or mpi, got '", text, "'"));
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

double scattered_hierarchical_seconds(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links) {
  const int chunks = std::max(1, ranks_per_node);
  const double piece = bytes / chunks;
  const double inside = 2.0 * (ranks_per_node - 1) * links.node.message(piece);
  const LinkCost shared = scattered_between_link(ranks_per_node, links);
  const double between = std::min(ring_allreduce_seconds(nodes, piece, shared),
                                  recursive_doubling_seconds(nodes, piece, shared));
  return inside + between;
}

LinkCost scattered_between_link(int ranks_per_node, const ClusterLinks& links) {
  return {links.between.alpha_s, links.between.beta_s_per_byte * std::max(1, ranks_per_node)};
}

double allreduce_seconds(AllreduceAlgorithm algorithm, int nodes, int ranks_per_node, double bytes,
                         const ClusterLinks& links) {
  switch (algorithm) {
    case AllreduceAlgorithm::Ring: return flat_ring_seconds(nodes, ranks_per_node, bytes, links);
    case AllreduceAlgorithm::Hierarchical: return hierarchical_seconds(nodes, ranks_per_node, bytes, links);
    case AllreduceAlgorithm::Scattered: return scattered_hierarchical_seconds(nodes, ranks_per_node, bytes, links);
    default: break;
  }
  throw Error(concat("allreduce_seconds: no formula for ", to_string(algorithm)));
}

AllreduceAlgorithm cheapest_allreduce(int nodes, int ranks_per_node, double bytes, const ClusterLinks& links) {
  AllreduceAlgorithm best = AllreduceAlgorithm::Ring;
  if (nodes <= 1 || ranks_per_node <= 1) return best;
  double best_s = flat_ring_seconds(nodes, ranks_per_node, bytes, links);
  for (auto a : {AllreduceAlgorithm::Hierarchical, AllreduceAlgorithm::Scattered}) {
    const double s = allreduce_seconds(a, nodes, ranks_per_node, bytes, links);
    if (s < best_s) {
      best = a;
      best_s = s;
    }
  }
  return best;
}

std::vector<AutoSegment> auto_segments(int nodes, int ranks_per_node, const ClusterLinks& links) {
  std::vector<AutoSegment> segments{{0, cheapest_allreduce(nodes, ranks_per_node, 4, links)}};
  for (double b = 8; b <= 4.0 * (1ull << 30); b *= 2) {
    const auto a = cheapest_allreduce(nodes, ranks_per_node, b, links);
    if (a != segments.back().algorithm) segments.push_back({b, a});
  }
  return segments;
}

namespace {
std::string bytes_text(double b) {
  return b >= 1 << 20 ? concat(b / (1 << 20), " MiB") : b >= 1024 ? concat(b / 1024, " KiB") : concat(b, " B");
}
}  // namespace

std::string describe_auto_segments(const std::vector<AutoSegment>& segments) {
  if (segments.size() == 1) return concat(to_string(segments[0].algorithm), " at every bucket size");
  std::string text;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    text += concat(i ? ", " : "", to_string(segments[i].algorithm), " below ", bytes_text(segments[i + 1].from_bytes));
  }
  return text + concat(", ", to_string(segments.back().algorithm), " from there on");
}

}  // namespace sprout::runtime
