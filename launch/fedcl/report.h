// The results of `sprout fedcl`: accuracy per task and model after each round, and what is
// derived from them — average accuracy over the tasks seen so far and forgetting — as a
// markdown table (printed by rank 0), CSV and JSON — and, per round, the federated
// accounting: which clients trained on how many examples, the bytes they would send and
// receive, the round's wall time and the accuracy distribution over clients.
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
  // Clients (launch/fedcl/clients.h): the sampled ones (increasing id), the training
  // examples each held this round (0: nothing to train on, e.g. no task under split =
  // tasks), and split_hash(...) of the whole round's split.
  std::vector<int> sampled;
  std::vector<int64_t> examples;
  uint64_t split_hash = 0;
  // model -> accuracy of the model on each client's data so far: Σ_k n_ck·acc_k / Σ_k n_ck
  // over the classes k the client has held (per-class test accuracy acc_k), one entry per
  // client holding any data, in client order. Merge methods only.
  std::map<std::string, std::vector<double>> client_accuracy;
  // model -> bytes all clients that trained this round would upload (their model deltas,
  // launch/fedcl/clients.h upload_bytes) and download (the model they start from, when they
  // do not hold it yet). Merge methods only.
  std::map<std::string, int64_t> upload_bytes, download_bytes;
  double wall_s = 0;  // the round: client training, merges, baselines, evaluation
};

struct FedclReport {
  std::string dataset;
  int nodes = 0, world = 0;
  std::string init;
  int clients = 0;
  double sample = 1;
  std::string split = "tasks";
  double alpha = 0;
  std::string merge_over = "all";
  double prox_mu = 0;
  int64_t model_bytes = 0;               // every tensor of the model, as stored
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

// The quantiles {0, 0.1, 0.5, 0.9, 1} of `values` (linear interpolation); NaNs if empty.
std::vector<double> quantiles(std::vector<double> values);

std::string markdown_table(const FedclReport& report);
// One row per (model, round) of the merge methods: average accuracy, bytes, wall time and
// the client accuracy quantiles.
std::string rounds_csv(const FedclReport& report);
// One row per (model, round, task) plus a row per (model, round) with task "avg".
std::string to_csv(const FedclReport& report);
runtime::JsonObject to_json(const FedclReport& report);

}  // namespace sprout::launch
