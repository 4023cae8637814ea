// `sprout plan`'s result: the tables it prints and the files it writes.
#pragma once

#include <string>
#include <vector>

#include "launch/plan/cost_model.h"
#include "launch/plan/plan_options.h"

namespace sprout::launch {

struct WidthRow {
  ScheduledWidth width;
  growth::RankMemory memory;  // on one rank of one (no sharding gains)
};

struct ScalingRow {
  StepPrediction step;   // at the widest model of the schedule
  double peak_bytes = 0;  // per rank, largest over the schedule's widths
  size_t peak_width = 0;  // index into widths
  bool fits = true;
};

struct Plan {
  std::vector<WidthRow> widths;
  size_t peak_width = 0;  // at one rank
  std::vector<ScalingRow> rows;  // N = 1, 2, 4, …
  double budget_bytes = 0;
  std::string budget_source;
  Calibration calibration;
  double examples_per_step = 1;  // per rank: train.batch × train.accumulate
  double largest_tensor_bytes = 0;  // the largest parameter (and gradient) of any width
};

// Everything predicted; throws ConfigError — one line naming what to change — when the
// peak memory does not fit the budget at any N.
Plan make_plan(const PlanConfig& config);
// The memory table, the scaling table and auto's choice per bucket size on several nodes.
void print_plan(const Plan& plan, const PlanConfig& config);
// PREFIX.csv, and PREFIX.png drawn by python3 with matplotlib (a note on stderr when it
// cannot be drawn: the CSV stays).
void write_plan_files(const Plan& plan, const std::string& prefix);

}  // namespace sprout::launch
