// FedclConfig: what `sprout fedcl` simulates, read and validated from its options, and the
// plan that deals a class-incremental split of the dataset to node groups over rounds.
// Validation is pure (no collectives), so every rank reaches the same verdict.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "launch/cli/option_binder.h"
#include "launch/train/train_config.h"
#include "merge/method.h"

namespace sprout::launch {

// Note [Federated continual-learning plan]
// Classes 0..C−1 are cut into `tasks` consecutive tasks of near-equal size (5 tasks of
// Fashion-MNIST: {0,1}, {2,3}, …). Round r (0-based, of R) deals tasks
// [⌈r·T/R⌉, ⌈(r+1)·T/R⌉), and task t goes to node group t mod N — so the groups take turns
// and no group gets two tasks in one round (R ≥ ⌈T/N⌉ guarantees it). The default R is
// ⌈T/N⌉: 5 tasks on 2 groups are rounds {0,1}, {2,3}, {4}; on 5 groups one round.
struct FedclPlan {
  int nodes = 1;
  std::vector<std::vector<int64_t>> task_classes;  // task -> its classes
  std::vector<std::vector<int>> round_tasks;       // round -> the tasks dealt in it
  int num_tasks() const { return static_cast<int>(task_classes.size()); }
  int num_rounds() const { return static_cast<int>(round_tasks.size()); }
  int node_of(int task) const { return task % nodes; }
  // The task node group `node` trains in `round`, or −1.
  int task_of(int node, int round) const;
  // Tasks dealt in rounds 0..round, in order.
  std::vector<int> seen(int round) const;
};

// ConfigError (naming fedcl.tasks / fedcl.rounds, or `holders_option` for `nodes`) when the
// deal is impossible. With fedcl.split = tasks the holders are the clients (task t goes to
// client t mod clients); with the other splits every client gets a share of every task, so
// the plan is made with one holder per task and only the rounds matter.
FedclPlan make_fedcl_plan(int tasks, int nodes, int rounds, int num_classes = 10,
                          const std::string& holders_option = "fedcl.nodes");

struct FedclConfig {
  TrainConfig train;  // data, model, optimizer, batch, seed, runtime; steps are set per run
  int nodes = 2;
  int tasks = 5;
  int rounds = 0;                   // 0: ⌈tasks/clients⌉ (split = tasks), else tasks
  int clients = 0;                  // virtual clients (0: one per node group); launch/fedcl/clients.h
  double sample = 1.0;              // fraction of the clients sampled each round, (0, 1]
  std::string split = "tasks";      // tasks | iid | dirichlet (Note [Clients, sampling and splits])
  double alpha = 0.5;               // Dirichlet concentration, > 0
  std::string init = "base";        // base | sequential | global (Note [Expert initialisation])
  std::string merge_over;           // all | round ("": all, or round with init = global)
  double prox_mu = 0;               // FedProx's μ (Note [FedProx step]); 0: none
  // The merge methods compared; by default the four published merges (the selection variants
  // soft_magmax, random and task_specific are ablations, asked for by name).
  std::vector<std::string> methods = {"magmax", "average", "task_arithmetic", "ties"};
  std::map<std::string, double> lambda;  // per-method λ overrides; absent: the method's default
  merge::MergeOptions merge_settings;   // the methods' own settings (fedcl.ties_density); no lambda
  std::vector<int64_t> warmup_classes;  // empty: every class
  int64_t warmup_steps = 200;           // 0: θ_0 is the fresh initialisation
  int64_t steps = 200;                  // per expert, and per task for the baselines
  bool baselines = true;                // sequential fine-tuning and joint training
  bool freeze_head = false;             // fine-tuning leaves the output layer at θ_0's
  std::string report = "fedcl-report";  // writes <report>.json and <report>.csv ("" = none)
  std::string save_dir;                 // keep every model as a checkpoint (launch/fedcl/files.h)
  std::string base;                     // θ_0 (and the architecture) from this checkpoint
  std::string text;                     // canonical option text (compared across ranks)
  FedclPlan plan;
};

// Declares the fedcl.* options, each bound to its field of `c` (whose values are the
// defaults); the training options come from `sprout train`'s table (fedcl_option_table).
void bind_fedcl_options(OptionBinder& b, FedclConfig& c);
OptionTable fedcl_option_table();
// Reads and validates every option against a world of `world_size` ranks; throws
// ConfigError naming the option and value.
FedclConfig read_fedcl_config(const Options& options, int world_size);

}  // namespace sprout::launch
