// The results of `sprout fedcl`: accuracy per task and model after each round, and what is
// derived from them — average accuracy over the tasks seen so far and forgetting — as a
// markdown table (printed by rank 0), CSV and JSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/json.h"

namespace sprout::launch {

struct FedclRound {
  int round = 0;                 // 1-based
  std::vector<int> new_tasks;    // dealt in this round
  std::vector<int> seen;         // every task dealt so far, in order
  // model -> accuracy on each task of `seen` (same order), in [0, 1].
  std::map<std::string, std::vector<double>> accuracy;
  // model -> ‖θ − θ_0‖₂ over its parameters: how far the merge stepped from the base.
  std::map<std::string, double> distance;
};

struct FedclReport {
  std::string dataset;
  int nodes = 0, world = 0;
  std::string init;
  bool freeze_head = false;
  uint64_t seed = 0;
  int64_t steps = 0, warmup_steps = 0;
  std::string warmup_classes;            // "all" or "0,1,2"
  std::string base_checkpoint;           // θ_0 came from this file (fedcl.base), else ""
  std::string architecture;              // "mlp 784-256-10"
  std::vector<std::vector<int64_t>> task_classes;
  std::vector<std::string> models;       // rows: the merge methods, then "sequential", "joint"
  std::map<std::string, std::string> lambda;  // model -> λ as text ("0.5", "1/n")
  std::vector<double> base_accuracy;     // θ_0 on every task
  std::vector<double> expert_accuracy;   // each task's expert on its own task
  std::vector<FedclRound> rounds;
  double wall_s = 0;
};

// Mean accuracy over the tasks seen in `round` (NaN if the model was not evaluated).
double average_accuracy(const FedclRound& round, const std::string& model);
// Forgetting after the last round (Chaudhry et al. 2018): over the tasks seen before the
// last round, the mean of (best accuracy in an earlier round − accuracy now). NaN when
// there is a single round.
double forgetting(const FedclReport& report, const std::string& model);

std::string markdown_table(const FedclReport& report);
// One row per (model, round, task) plus a row per (model, round) with task "avg".
std::string to_csv(const FedclReport& report);
runtime::JsonObject to_json(const FedclReport& report);

}  // namespace sprout::launch
