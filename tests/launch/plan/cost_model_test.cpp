// sprout plan's step-time model (launch/plan/cost_model.h) against values worked by hand.
#include <gtest/gtest.h>

#include "launch/plan/cost_model.h"
#include "growth/models/macs.h"
#include "growth/models/memory_estimate.h"
#include "growth/schedule.h"
#include "runtime/error.h"

namespace sprout::launch {
namespace {

Calibration calibration() {
  Calibration c;
  c.seconds_per_example = 1e-3;
  c.macs_per_example = 1;  // replaced below by the model's own MACs: compute = 1 ms per example
  c.links.node = {1e-6, 1e-9};
  c.links.between = {10e-6, 1e-9};
  c.checkpoint_bytes_per_s = 1e8;
  return c;
}

TrainConfig config_for(int64_t width) {
  TrainConfig t;
  t.model = growth::ArchSpec::parse("kind=mlp;in=1x28x28;classes=10;batch_norm=false;widths=" + std::to_string(width));
  t.train.batch = 10;
  return t;
}

TEST(PlanCostModel, OneRankIsComputeAndCheckpointOnly) {
  auto config = config_for(64);
  config.checkpoint.every = 10;
  auto cal = calibration();
  cal.macs_per_example = static_cast<double>(growth::macs_per_example(config.model));
  const auto tensors = growth::training_tensors(config.model);
  const auto p = predict_step(config, config.model, tensors, cal, 1, 8);
  EXPECT_DOUBLE_EQ(p.compute_s, 10e-3);  // 10 examples at 1 ms
  for (double e : p.exposed_s) EXPECT_EQ(e, 0);
  double params = 0;
  for (auto n : tensors.parameters) params += static_cast<double>(n);
  // SGD with momentum: 1 slot; parameters and state, 4 bytes each, over 1e8 B/s, every 10 steps.
  EXPECT_NEAR(p.checkpoint_s, 4.0 * params * 2 / 1e8 / 10, 1e-12);
}

TEST(PlanCostModel, TheUpdateIsTheOptimizersRatePerElementOverTheElementsThisRankUpdates) {
  auto config = config_for(64);
  auto cal = calibration();
  cal.macs_per_example = static_cast<double>(growth::macs_per_example(config.model));
  cal.sgd_update_s_per_element = 1e-9;
  cal.adamw_update_s_per_element = 3e-9;
  const auto tensors = growth::training_tensors(config.model);
  double params = 0;
  for (auto n : tensors.parameters) params += static_cast<double>(n);
  auto p = predict_step(config, config.model, tensors, cal, 1, 8);
  EXPECT_NEAR(p.update_s, 1e-9 * params, 1e-15);
  EXPECT_NEAR(p.step_s(PlanAlgorithm::Ring), p.compute_s + p.update_s + p.checkpoint_s, 1e-15);
  config.optim.name = "adamw";
  config.optim.shard = "state";  // each of 4 ranks updates its quarter
  p = predict_step(config, config.model, tensors, cal, 4, 4);
  EXPECT_NEAR(p.update_s, 3e-9 * params / 4, 1e-15);
}

TEST(PlanCostModel, CpuTimeOverTheCoreShareOfEachRankOnItsNode) {
  auto config = config_for(64);
  auto cal = calibration();
  cal.macs_per_example = static_cast<double>(growth::macs_per_example(config.model));
  cal.cpu_seconds_per_example = 0.5e-3;  // below the 1 ms wall: measured while sharing cores
  cal.sgd_update_cpu_s_per_element = 1e-9;
  cal.cores = 2;
  cal.threads = 1;
  const auto tensors = growth::training_tensors(config.model);
  double params = 0;
  for (auto n : tensors.parameters) params += static_cast<double>(n);
  // 2 ranks on a 2-core node: a core each, wall = CPU = 10 examples × 0.5 ms.
  auto p = predict_step(config, config.model, tensors, cal, 2, 8);
  EXPECT_DOUBLE_EQ(p.compute_cpu_s, 5e-3);
  EXPECT_DOUBLE_EQ(p.compute_s, 5e-3);
  EXPECT_NEAR(p.update_s, 1e-9 * params, 1e-15);
  // 8 ranks on it: a quarter of a core each, 4× the wall; the CPU time is the same.
  p = predict_step(config, config.model, tensors, cal, 8, 8);
  EXPECT_DOUBLE_EQ(p.compute_cpu_s, 5e-3);
  EXPECT_DOUBLE_EQ(p.compute_s, 20e-3);
  EXPECT_NEAR(p.update_s, 4e-9 * params, 1e-15);
  EXPECT_DOUBLE_EQ(p.core_share, 0.25);
  // 8 ranks in nodes of 2: a core each again.
  EXPECT_DOUBLE_EQ(predict_step(config, config.model, tensors, cal, 8, 2).compute_s, 5e-3);
  // 2 threads per rank, 1 rank on the node: both cores, half the CPU time as wall.
  cal.threads = 2;
  EXPECT_DOUBLE_EQ(predict_step(config, config.model, tensors, cal, 1, 8).compute_s, 2.5e-3);
  // The reduction's CPU: per bucket byte, scaled from the calibration's 2 ranks (1 byte
  // per byte) to 8 (1.75): 1 ns/B × 4 bytes per parameter × 1.75.
  cal.threads = 1;
  cal.ranks = 2;
  cal.reduction_cpu_s_per_byte = 1e-9;
  EXPECT_NEAR(predict_step(config, config.model, tensors, cal, 8, 8).reduction_cpu_s, 1e-9 * 4 * params * 1.75, 1e-15);
  EXPECT_EQ(predict_step(config, config.model, tensors, cal, 1, 8).reduction_cpu_s, 0) << "one rank: no reduction";
  // Without CPU times (older files): the wall-clock rate, unscaled.
  cal.cpu_seconds_per_example = 0;
  EXPECT_DOUBLE_EQ(predict_step(config, config.model, tensors, cal, 8, 8).compute_s, 10e-3);
}

TEST(PlanCostModel, TheTrainersOwnWorkIsPerBatchPlusPerExampleOverTheCoreShareAndPartOfTheStep) {
  auto config = config_for(64);
  config.train.batch = 10;
  config.train.accumulate = 3;  // 3 micro-batches, 30 examples per rank per step
  auto cal = calibration();
  cal.macs_per_example = static_cast<double>(growth::macs_per_example(config.model));
  cal.cpu_seconds_per_example = 0.5e-3;
  cal.trainer_cpu_s_per_batch = 0.1e-3;     // 100 us of CPU per micro-batch
  cal.trainer_cpu_s_per_example = 0.02e-3;  // 20 us of CPU per example
  cal.trainer_s_per_batch = 0.2e-3;         // wall-clock: 200 us per micro-batch
  cal.trainer_s_per_example = 0.05e-3;      // and 50 us per example
  cal.cores = 2;
  cal.threads = 1;
  const auto tensors = growth::training_tensors(config.model);
  // 1 rank: a whole core; 3 × 0.1 ms + 30 × 20 us = 0.9 ms, CPU and wall alike.
  auto p = predict_step(config, config.model, tensors, cal, 1, 8);
  EXPECT_DOUBLE_EQ(p.trainer_cpu_s, 0.9e-3);
  EXPECT_DOUBLE_EQ(p.trainer_s, 0.9e-3);
  EXPECT_DOUBLE_EQ(p.step_s(PlanAlgorithm::Ring), 15e-3 + 0.9e-3);  // compute 30 × 0.5 ms, no update rate
  // 8 ranks on the 2 cores: a quarter of a core each, 3.6 ms of wall; the CPU time stays 0.9 ms.
  p = predict_step(config, config.model, tensors, cal, 8, 8);
  EXPECT_DOUBLE_EQ(p.trainer_cpu_s, 0.9e-3);
  EXPECT_DOUBLE_EQ(p.trainer_s, 3.6e-3);
  EXPECT_NEAR(p.step_s(PlanAlgorithm::Ring), p.compute_s + 3.6e-3 + p.exposed_s[0], 1e-15);
  // Without CPU times: the wall-clock figures, unscaled: 3 × 0.2 ms + 30 × 50 us.
  cal.cpu_seconds_per_example = 0;
  p = predict_step(config, config.model, tensors, cal, 8, 8);
  EXPECT_DOUBLE_EQ(p.trainer_s, 2.1e-3);
  EXPECT_EQ(p.trainer_cpu_s, 0);
  // A calibration without the figures (older files): 0, the step as before.
  cal.trainer_s_per_batch = cal.trainer_s_per_example = 0;
  EXPECT_EQ(predict_step(config, config.model, tensors, cal, 8, 8).trainer_s, 0);
}

TEST(PlanCostModel, TheEnginesCopyAndReductionRunOnTheRanksCoresAndHideTheWireUpToTheirLength) {
  auto config = config_for(64);  // one bucket
  config.engine.overlap = false;
  auto cal = calibration();
  cal.macs_per_example = static_cast<double>(growth::macs_per_example(config.model));
  cal.cpu_seconds_per_example = 0.5e-3;
  cal.cores = 2;
  cal.threads = 1;
  cal.ranks = 2;                            // calibrated on the ring of 2 ranks: 1 byte moved per bucket byte
  cal.bucket_copy_cpu_s_per_byte = 0.2e-9;  // the hooks' copy
  cal.reduction_cpu_s_per_byte = 1e-9;
  const auto tensors = growth::training_tensors(config.model);
  double params = 0;
  for (auto n : tensors.parameters) params += static_cast<double>(n);
  const double b = 4 * params;  // gradient bytes
  // 8 ranks on one 2-core node: a quarter of a core each. Bytes received per rank per
  // bucket byte: ring 2·7/8 = 1.75; recursive doubling 3 rounds; hierarchical (one node)
  // the leader's 7 buckets (the others 1 each); scattered the ring inside the node, 1.75.
  auto p = predict_step(config, config.model, tensors, cal, 8, 8);
  EXPECT_NEAR(p.bucket_copy_cpu_s, 0.2e-9 * b, 1e-15);
  EXPECT_NEAR(p.reduction_cpu_s, 1e-9 * b * 1.75, 1e-15);
  const double moved[4] = {1.75, 3, 7, 1.75};
  const double compute_cpu = 5e-3;  // 10 examples × 0.5 ms
  for (auto a : kPlanAlgorithms) {
    const int i = static_cast<int>(a);
    EXPECT_NEAR(p.engine_cpu_s[i], 0.2e-9 * b + 1e-9 * b * moved[i], 1e-15) << to_string(a);
    if (a == PlanAlgorithm::Hierarchical) {
      // Unequal ranks: the node's CPU over its 2 cores — 8 × (compute + copy) + 7 + 7 × 1
      // buckets reduced — is longer than the leader's own (compute + copy + 7) on one core.
      EXPECT_NEAR(p.compute_s + p.engine_s[i], (8 * (compute_cpu + 0.2e-9 * b) + 14e-9 * b) / 2, 1e-15);
    } else {
      EXPECT_NEAR(p.engine_s[i], p.engine_cpu_s[i] * 4, 1e-15) << to_string(a);
    }
    // Without overlap the bucket goes on the wire after backward; the rank's own copy and
    // reduction take engine_s of that, the wire only what goes beyond.
    const double wire = i == 0   ? runtime::ring_allreduce_seconds(8, b, cal.links.node)
                        : i == 1 ? runtime::recursive_doubling_seconds(8, b, cal.links.node)
                        : i == 2 ? runtime::hierarchical_seconds(1, 8, b, cal.links)
                                 : runtime::scattered_hierarchical_seconds(1, 8, b, cal.links);
    EXPECT_NEAR(p.exposed_s[i], std::max(0.0, wire - p.engine_s[i]), 1e-15) << to_string(a);
    EXPECT_NEAR(p.step_s(a), p.compute_s + p.engine_s[i] + p.exposed_s[i], 1e-15) << to_string(a);
  }
  // The wire beyond the engine: a slow link leaves the difference exposed.
  cal.links.node.beta_s_per_byte = 1e-6;
  p = predict_step(config, config.model, tensors, cal, 8, 8);
  EXPECT_NEAR(p.exposed_s[0], runtime::ring_allreduce_seconds(8, b, cal.links.node) - p.engine_s[0], 1e-12);
  EXPECT_GT(p.exposed_s[0], 0);
  // 8 ranks in 2 nodes of 4: hierarchical's leader 3 + the leaders' ring 2·1/2 = 4, the
  // node's 4 + 3 × 1 = 7; scattered 2·3/4 + (2·1/2)/4 = 1.75; the ring over all 8, 1.75.
  p = predict_step(config, config.model, tensors, cal, 8, 4);
  EXPECT_NEAR(p.engine_cpu_s[2], 0.2e-9 * b + 1e-9 * b * 4, 1e-15);
  EXPECT_NEAR(p.compute_s + p.engine_s[2], (4 * (compute_cpu + 0.2e-9 * b) + 7e-9 * b) / 2, 1e-15);
  EXPECT_NEAR(p.engine_cpu_s[3], 0.2e-9 * b + 1e-9 * b * 1.75, 1e-15);
  EXPECT_NEAR(p.engine_s[3], p.engine_cpu_s[3] * 2, 1e-15) << "4 ranks on 2 cores: half a core each";
  // The leader alone on more cores than its node's work needs: 2 ranks per node on 64
  // cores, 1 thread — the leader's own work on its one thread sets the pace.
  cal.cores = 64;
  p = predict_step(config, config.model, tensors, cal, 4, 2);  // hierarchical leader: 1 + ring of 2 = 2
  EXPECT_NEAR(p.compute_s + p.engine_s[2], compute_cpu + 0.2e-9 * b + 2e-9 * b, 1e-15);
  cal.cores = 2;
  // optim.shard = gradients: the ring's reduce-scatter half.
  config.optim.shard = "gradients";
  EXPECT_NEAR(predict_step(config, config.model, tensors, cal, 8, 8).reduction_cpu_s, 1e-9 * b * 0.875, 1e-15);
  // One rank, or a calibration without the figures: no engine.
  EXPECT_EQ(predict_step(config, config.model, tensors, cal, 1, 8).engine_s[0], 0);
  cal.bucket_copy_cpu_s_per_byte = cal.reduction_cpu_s_per_byte = 0;
  EXPECT_EQ(predict_step(config, config.model, tensors, cal, 8, 8).engine_s[0], 0);
}

TEST(PlanCostModel, WithoutOverlapEveryBucketIsExposed) {
  auto config = config_for(64);  // 784·64 + 64 + 64·10 + 10 elements: one bucket
  config.engine.overlap = false;
  auto cal = calibration();
  cal.macs_per_example = static_cast<double>(growth::macs_per_example(config.model));
  const auto tensors = growth::training_tensors(config.model);
  double bytes = 0;
  for (auto n : tensors.parameters) bytes += 4.0 * static_cast<double>(n);
  const auto p = predict_step(config, config.model, tensors, cal, 4, 4);
  EXPECT_NEAR(p.exposed_s[static_cast<int>(PlanAlgorithm::Ring)], runtime::ring_allreduce_seconds(4, bytes, cal.links.node),
              1e-15);
  EXPECT_NEAR(p.exposed_s[static_cast<int>(PlanAlgorithm::RecursiveDoubling)],
              runtime::recursive_doubling_seconds(4, bytes, cal.links.node), 1e-15);
  EXPECT_NEAR(p.exposed_s[static_cast<int>(PlanAlgorithm::Hierarchical)],
              runtime::hierarchical_seconds(1, 4, bytes, cal.links), 1e-15);
  // Scattered on one node of 4: reduce-scatter and allgather of quarters, 6·(α + β·b/4).
  EXPECT_NEAR(p.exposed_s[static_cast<int>(PlanAlgorithm::Scattered)],
              6 * (cal.links.node.alpha_s + cal.links.node.beta_s_per_byte * bytes / 4), 1e-15);
  // With overlap the bucket is ready only when backward ends (one bucket): the same.
  config.engine.overlap = true;
  EXPECT_NEAR(predict_step(config, config.model, tensors, cal, 4, 4).exposed_s[0], p.exposed_s[0], 1e-15);
}

TEST(PlanCostModel, ComputeHidesEarlyBucketsAndAcrossNodesTheSlowerLinkPaces) {
  auto config = config_for(1024);  // several buckets at bucket_mb 1
  config.runtime.bucket_mb = 1;
  auto cal = calibration();
  cal.macs_per_example = static_cast<double>(growth::macs_per_example(config.model));
  const auto tensors = growth::training_tensors(config.model);
  const auto overlapped = predict_step(config, config.model, tensors, cal, 4, 4);
  config.engine.overlap = false;
  const auto after = predict_step(config, config.model, tensors, cal, 4, 4);
  EXPECT_LT(overlapped.exposed_s[0], after.exposed_s[0]);
  // 8 ranks on 2 nodes of 4: the ring runs at the between-nodes latency.
  const auto two_nodes = predict_step(config, config.model, tensors, cal, 8, 4);
  EXPECT_EQ(two_nodes.nodes, 2);
  EXPECT_GT(two_nodes.exposed_s[0], predict_step(config, config.model, tensors, cal, 8, 8).exposed_s[0]);
}

TEST(PlanCostModel, ScheduleWidthsFollowTheGrowthEvents) {
  auto config = config_for(32);
  config.growth.events = {growth::parse_event("5:fc1:+16"), growth::parse_event("5:fc1:+16"),
                          growth::parse_event("9:fc1:+8")};
  const auto widths = schedule_widths(config);
  ASSERT_EQ(widths.size(), 3u);  // the start, after step 5 (both events), after step 9
  EXPECT_EQ(widths[1].from_step, 5);
  EXPECT_EQ(growth::site_widths(widths[1].arch)[0].second, 64);
  EXPECT_EQ(growth::site_widths(widths[2].arch)[0].second, 72);
  config.growth.events = {growth::parse_event("5:fc9:+16")};
  EXPECT_THROW(schedule_widths(config), ConfigError);
}

}  // namespace
}  // namespace sprout::launch
