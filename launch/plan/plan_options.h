// Options of `sprout plan`: every option of `sprout train` (the model, its growth
// schedule, batch, optimizer, optim.shard, precision, runtime.allreduce, checkpoint.every:
// what a run would be given) and plan.* for the cluster and the calibration.
#pragma once

#include <string>

#include "launch/cli/option_binder.h"
#include "launch/train/train_config.h"

namespace sprout::launch {

struct PlanOptions {
  std::string calibration;  // plan.calibration: written by sprout bench calibrate (required)
  int ranks_per_node = 8;   // plan.ranks_per_node
  int max_ranks = 1024;     // plan.max_ranks: N = 1, 2, 4, … below it, and it
  double memory_gb = 0;     // plan.memory_gb: per rank; 0 = this machine's available memory / ranks_per_node
  int cores_per_node = 0;   // plan.cores_per_node: the planned nodes' cores (0: the calibration's)
  // plan.between_alpha_us, plan.between_gbps: the link between nodes, overriding the
  // calibration's (0: the calibration's — measured when it ran on several nodes)
  double between_alpha_us = 0, between_gbps = 0;
  std::string out;          // plan.out: prefix of the CSV and PNG written ("" = none)
};

struct PlanConfig {
  TrainConfig train;
  PlanOptions plan;
};

void bind_plan_options(OptionBinder& b, PlanOptions& c);
// `sprout train`'s table and plan.*.
OptionTable plan_option_table();
// Reads and validates every option; throws ConfigError naming the option and value.
PlanConfig read_plan_config(const Options& options);

}  // namespace sprout::launch
