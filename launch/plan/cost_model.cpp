#include "launch/plan/cost_model.h"

#include <algorithm>
#include <limits>
#include <map>

#include "growth/models/macs.h"
#include "growth/schedule.h"
#include "runtime/engine/bucket_layout.h"

namespace sprout::launch {

const char* to_string(PlanAlgorithm algorithm) {
  switch (algorithm) {
    case PlanAlgorithm::Ring: return "ring";
    case PlanAlgorithm::RecursiveDoubling: return "recursive doubling";
    case PlanAlgorithm::Hierarchical: return "hierarchical";
    case PlanAlgorithm::Scattered: return "scattered";
  }
  return "?";
}

std::vector<ScheduledWidth> schedule_widths(const TrainConfig& config) {
  const growth::ArchSpec start = config.model;
  const auto start_list = growth::site_widths(start);
  auto events = config.growth.events;
  for (auto& e : growth::expand(config.growth.compact, start_list)) events.push_back(e);
  std::vector<std::string> sites;
  for (const auto& [site, width] : start_list) sites.push_back(site);
  // Checks every site and K, sorts by step (the run's length is not known here).
  events = growth::validate_events(std::move(events), sites, std::numeric_limits<int64_t>::max());
  std::vector<ScheduledWidth> out{{0, start}};
  std::map<std::string, int64_t> widths(start_list.begin(), start_list.end());
  for (size_t i = 0; i < events.size(); ++i) {
    widths[events[i].site] += events[i].add;
    if (i + 1 < events.size() && events[i + 1].step == events[i].step) continue;  // one width per step
    out.push_back({events[i].step, growth::with_site_widths(start, widths)});
  }
  return out;
}

growth::RankMemoryOptions memory_options(const TrainConfig& config, int ranks, int ranks_per_node) {
  growth::RankMemoryOptions o;
  o.batch = config.train.batch;
  o.optimizer_slots = growth::optimizer_slots(config.optim.name, config.optim.momentum);
  o.shard = config.optim.shard;
  o.world = ranks;
  o.rank = 0;
  o.allreduce = config.engine.allreduce;
  o.ranks_per_node = ranks_per_node;
  o.links = config.engine.links;  // what the run's runtime.allreduce=auto will cost buckets on
  o.bucket_mb = config.runtime.bucket_mb;
  o.bf16 = config.runtime.precision == "bf16";
  return o;
}

namespace {

double bucket_seconds(PlanAlgorithm a, int nodes, int per_node, double bytes, const runtime::ClusterLinks& links,
                      bool scatter_only) {
  const int n = nodes * per_node;
  const runtime::LinkCost flat = runtime::flat_link(nodes, links);
  switch (a) {
    case PlanAlgorithm::Ring:
      return scatter_only ? runtime::ring_half_seconds(n, bytes, flat) : runtime::flat_ring_seconds(nodes, per_node, bytes, links);
    case PlanAlgorithm::RecursiveDoubling: return runtime::recursive_doubling_seconds(n, bytes, flat);
    case PlanAlgorithm::Hierarchical: return runtime::hierarchical_seconds(nodes, per_node, bytes, links);
    case PlanAlgorithm::Scattered: return runtime::scattered_hierarchical_seconds(nodes, per_node, bytes, links);
  }
  return 0;
}

// The bytes a rank receives reducing a bucket of `bytes` — each copied in once and, in
// the reduction's phases, added: the reduction's CPU scales with them. The formulas of
// runtime/comm/allreduce_cost.h on a link of 1 s per byte and no latency give them where
// every rank sends what it receives (ring, recursive doubling, scattered); a hierarchical
// node leader takes in the L − 1 others' buckets and then the leaders' ring's share, and
// each other rank takes in the result once.
double rank_bytes(PlanAlgorithm a, int nodes, int per_node, double bytes, bool scatter_only, bool leader = true) {
  const runtime::LinkCost unit{0, 1};
  const int n = nodes * per_node;
  switch (a) {
    case PlanAlgorithm::Ring:
      return scatter_only ? runtime::ring_half_seconds(n, bytes, unit) : runtime::ring_allreduce_seconds(n, bytes, unit);
    case PlanAlgorithm::RecursiveDoubling: return runtime::recursive_doubling_seconds(n, bytes, unit);
    case PlanAlgorithm::Hierarchical:
      if (!leader) return per_node > 1 ? bytes : 0.0;
      return (per_node - 1) * bytes + runtime::ring_allreduce_seconds(nodes, bytes, unit);
    case PlanAlgorithm::Scattered:  // reduce-scatter and allgather inside the node, its 1/L between nodes
      return runtime::ring_allreduce_seconds(per_node, bytes, unit) +
             runtime::ring_allreduce_seconds(nodes, bytes / per_node, unit);
  }
  return 0;
}

}  // namespace

StepPrediction predict_step(const TrainConfig& config, const growth::ArchSpec& arch,
                            const growth::TrainingTensors& tensors, const Calibration& cal, int ranks,
                            int ranks_per_node) {
  StepPrediction p;
  p.ranks = ranks;
  const int per_node = std::min(ranks_per_node, ranks);
  p.nodes = (ranks + per_node - 1) / per_node;
  const double accumulate = static_cast<double>(config.train.accumulate);  // micro-batches per step
  const double examples = static_cast<double>(config.train.batch) * accumulate;
  const double macs = static_cast<double>(growth::macs_per_example(arch));
  double total = 0;
  for (auto n : tensors.parameters) total += static_cast<double>(n);
  const bool scatter = config.optim.shard == "gradients";
  const double updated = config.optim.shard == "none" ? total : total / ranks;
  const bool adamw = config.optim.name == "adamw";
  if (cal.cpu_seconds_per_example > 0 && cal.cores > 0) {
    // Each rank's threads get min(threads, cores / ranks on the node) cores.
    const double cores = std::min<double>(cal.threads, static_cast<double>(cal.cores) / per_node);
    p.core_share = cores / cal.threads;
    p.compute_cpu_s = cal.cpu_seconds_per_example * macs / cal.macs_per_example * examples;
    p.update_cpu_s = (adamw ? cal.adamw_update_cpu_s_per_element : cal.sgd_update_cpu_s_per_element) * updated;
    p.trainer_cpu_s = cal.trainer_cpu_s_per_batch * accumulate + cal.trainer_cpu_s_per_example * examples;
    p.compute_s = p.compute_cpu_s / cores;
    p.trainer_s = p.trainer_cpu_s / cores;
    p.update_s = p.update_cpu_s / cores;
    if (ranks > 1 && cal.ranks > 1) {
      // Calibrated on the ring of cal.ranks ranks; scaled by the bytes each algorithm moves per rank.
      const double gradient_bytes = 4.0 * total;
      const double calibrated = rank_bytes(PlanAlgorithm::Ring, 1, cal.ranks, 1.0, false);
      p.bucket_copy_cpu_s = cal.bucket_copy_cpu_s_per_byte * gradient_bytes;
      const double per_byte = cal.reduction_cpu_s_per_byte * gradient_bytes / calibrated;
      const double own = p.compute_cpu_s + p.trainer_cpu_s + p.update_cpu_s + p.bucket_copy_cpu_s;
      const double node_cores = std::max(1.0, static_cast<double>(cal.cores));
      for (auto a : kPlanAlgorithms) {
        const int i = static_cast<int>(a);
        const double reduction = per_byte * rank_bytes(a, p.nodes, per_node, 1.0, scatter);
        if (a == PlanAlgorithm::Ring) p.reduction_cpu_s = reduction;
        p.engine_cpu_s[i] = p.bucket_copy_cpu_s + reduction;
        // The node's ranks share its cores; a rank busier than the others (a hierarchical
        // leader) also cannot go faster than its own threads: the node's CPU work over its
        // cores, or this rank's over its threads, whichever is longer (the same as the
        // rank's over its share when every rank does the same work).
        const double others = (per_node - 1) * (own + per_byte * rank_bytes(a, p.nodes, per_node, 1.0, scatter, false));
        const double busy = std::max((own + reduction + others) / node_cores,
                                     (own + reduction) / std::min<double>(cal.threads, node_cores));
        p.engine_s[i] = std::max(0.0, busy - p.compute_s - p.trainer_s - p.update_s);
      }
    }
  } else {
    p.compute_s = cal.seconds_per_example * macs / cal.macs_per_example * examples;
    p.update_s = (adamw ? cal.adamw_update_s_per_element : cal.sgd_update_s_per_element) * updated;
    p.trainer_s = cal.trainer_s_per_batch * accumulate + cal.trainer_s_per_example * examples;
  }
  if (ranks > 1) {
    std::vector<torch::Tensor> shapes;
    for (auto n : tensors.parameters) shapes.push_back(torch::empty({n}, torch::TensorOptions().device(torch::kMeta)));
    const double mib = 1024.0 * 1024.0;
    const auto layout = runtime::BucketLayout::build(shapes, static_cast<size_t>(config.runtime.bucket_mb * mib),
                                                     static_cast<size_t>(std::min(1.0, config.runtime.bucket_mb) * mib));
    const double forward = p.compute_s / 3, backward = p.compute_s - forward;
    for (auto a : kPlanAlgorithms) {
      double produced = 0, wire_free = 0;
      for (const auto& b : layout.buckets()) {
        produced += static_cast<double>(b.numel);
        const double ready = config.engine.overlap ? forward + backward * produced / total : p.compute_s;
        wire_free = std::max(ready, wire_free) +
                    bucket_seconds(a, p.nodes, per_node, 4.0 * static_cast<double>(b.numel), cal.links, scatter);
      }
      const int i = static_cast<int>(a);
      p.exposed_s[i] = std::max(0.0, wire_free - p.compute_s - p.engine_s[i]);
    }
    if (config.optim.shard != "none") {
      p.allgather_s = runtime::ring_half_seconds(ranks, 4.0 * total, runtime::flat_link(p.nodes, cal.links));
    }
  }
  if (config.checkpoint.every > 0) {
    const double slots = growth::optimizer_slots(config.optim.name, config.optim.momentum);
    const double bytes = 4.0 * total * (1 + slots) + tensors.buffer_bytes;
    p.checkpoint_s = bytes / cal.checkpoint_bytes_per_s / static_cast<double>(config.checkpoint.every);
  }
  return p;
}

}  // namespace sprout::launch
