// `sprout plan`'s predictions: per-rank memory at every width a growth schedule passes
// through, and the step time of data-parallel training on N ranks, split into compute,
// communication left exposed after overlap, and checkpoint cost.
//
// Step time on N ranks (nodes of R = min(ranks_per_node, N) ranks):
//   compute     calibrated CPU seconds per example × MACs(model) / MACs(calibrated model)
//               × examples per rank per step (train.batch × train.accumulate), over the
//               share of a core each rank gets on a node of its own: wall = CPU /
//               min(threads, cores / ranks on the node) — a dedicated node, not one shared
//               with other jobs; forward is a third of it, backward two thirds (backward's
//               MACs are twice forward's). A calibration without CPU times: its wall-clock
//               seconds per example, unscaled (the load it was measured under included)
//   trainer     the training step's own work outside forward, backward and the update
//               (batch assembly, loss read-back, bookkeeping): train.accumulate × (the
//               calibrated CPU seconds per batch + per example × train.batch), over the same
//               share of a core as compute (a calibration without CPU times: its wall-clock
//               figures; without the figures at all: 0)
//   update      the optimizer's pass over the parameter elements this rank updates (all, or
//               its 1/N with optim.shard) at the calibrated seconds per element, the same
//               way (0 from a calibration without it)
//   engine      on N ≥ 2 ranks, the data-parallel engine's own CPU work, on the rank's
//               cores beside compute (no progress thread: the gradient hooks and the wait
//               after backward drive it): the calibrated CPU per gradient byte of the
//               hooks' copy into the buckets, plus that of the reduction, calibrated on the
//               ring of the calibration's ranks and scaled by the bytes each algorithm has
//               a rank receive (ring 2(N−1)/N of a bucket; recursive doubling one per
//               round; a hierarchical leader L − 1 buckets plus the leaders' ring, the
//               other ranks one; scattered the ring inside the node plus its 1/L between
//               nodes). Wall-clock: the node's CPU work (compute, trainer, update and
//               engine of all its ranks) over its cores, or this rank's over its threads,
//               whichever is longer — for ranks that all do the same work, the rank's CPU
//               over its share of a core, as compute (a calibration without CPU times: 0)
//   buckets     the engine's (runtime::BucketLayout), each reduced by the chosen algorithm
//               at the α–β cost of runtime/comm/allreduce_cost.h; bucket b is ready when
//               backward has produced its gradients (backward produces the parameters'
//               gradients at a steady rate, in reverse order) and the wire takes buckets
//               one after another: f_b = max(ready_b, f_{b−1}) + cost_b. The rank is busy
//               until compute + engine, so the wire is exposed only beyond that:
//               exposed = max(0, f_last − compute − engine), and the step holds
//               max(compute + engine, f_last). optim.shard = gradients reduces with the
//               ring's first half only; state and gradients add the parameters' allgather
//               after the update (not overlapped).
//   checkpoint  bytes of one checkpoint (parameters, buffers, optimizer state) over the
//               calibrated write bandwidth, divided by checkpoint.every (0: none)
#pragma once

#include <string>
#include <vector>

#include "growth/models/memory_estimate.h"
#include "launch/plan/calibration.h"
#include "launch/train/train_config.h"

namespace sprout::launch {

enum class PlanAlgorithm { Ring, RecursiveDoubling, Hierarchical, Scattered };
inline constexpr PlanAlgorithm kPlanAlgorithms[] = {PlanAlgorithm::Ring, PlanAlgorithm::RecursiveDoubling,
                                                    PlanAlgorithm::Hierarchical, PlanAlgorithm::Scattered};
const char* to_string(PlanAlgorithm algorithm);

// One width of the growth schedule: the model from `from_step` on.
struct ScheduledWidth {
  int64_t from_step = 0;
  growth::ArchSpec arch;
};
// The starting model and the model after each step at which the schedule grows it.
std::vector<ScheduledWidth> schedule_widths(const TrainConfig& config);

// The per-rank memory options of `config` on `ranks` ranks (rank 0: a node leader).
growth::RankMemoryOptions memory_options(const TrainConfig& config, int ranks, int ranks_per_node);

struct StepPrediction {
  int ranks = 1, nodes = 1;
  double compute_s = 0;              // forward + backward
  double update_s = 0;               // the optimizer's update
  double trainer_s = 0;              // the step's work outside forward, backward and update
  double compute_cpu_s = 0, update_cpu_s = 0, trainer_cpu_s = 0;  // the same in CPU time (0: calibration without)
  // The engine's CPU work (0 on one rank or from a calibration without it): the hooks' copy
  // of the gradients into the buckets, the ring's reduction of them, and per PlanAlgorithm
  // this rank's copy plus that algorithm's reduction in CPU time, and what it adds to the
  // wall-clock step (see "engine" above).
  double bucket_copy_cpu_s = 0, reduction_cpu_s = 0;
  double engine_cpu_s[4] = {0, 0, 0, 0}, engine_s[4] = {0, 0, 0, 0};
  double core_share = 1;             // of a core per rank per thread: wall = CPU / (threads · share)
  double exposed_s[4] = {0, 0, 0, 0};  // per PlanAlgorithm: the wire beyond compute + engine
  double allgather_s = 0;           // parameters after a sharded update (0 unsharded)
  double checkpoint_s = 0;          // per step
  double step_s(PlanAlgorithm a) const {
    const int i = static_cast<int>(a);
    return compute_s + trainer_s + update_s + engine_s[i] + exposed_s[i] + allgather_s + checkpoint_s;
  }
};

StepPrediction predict_step(const TrainConfig& config, const growth::ArchSpec& arch,
                            const growth::TrainingTensors& tensors, const Calibration& calibration, int ranks,
                            int ranks_per_node);

}  // namespace sprout::launch
