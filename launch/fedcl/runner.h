// The federated continual-learning simulation of `sprout fedcl`.
//
// Note [Federated continual-learning run]
//  1. The world is split into fedcl.nodes node groups (merge/collective.h); fedcl.clients
//     virtual clients are scheduled over them (Note [Clients, sampling and splits]): each
//     round samples clients, splits the round's tasks' training examples among them, and
//     every group trains its sampled clients one after another, each data-parallel over the
//     group with launch::Trainer (launch/fedcl/client_training.h).
//  2. θ_0: fedcl.warmup_steps of training on fedcl.warmup_classes on the whole world (or
//     the fresh initialisation); every rank holds it.
//  3. Each round every sampled client with data fine-tunes for fedcl.steps from the model
//     Note [Expert initialisation] gives it; then each method merges the experts of the
//     round (fedcl.merge_over = round) or of every round so far (all). A group's experts
//     are never gathered: collective_merge folds them locally and reduces once per method
//     reduction (one or two allreduces) whatever the number of clients per group. average
//     is weighted by the clients' example counts (merge/weighted.h; FedAvg).
//  4. On the same budget, the baselines: group 0 fine-tunes one model through the round's
//     tasks in order (sequential fine-tuning, the lower bound: no merging, it forgets);
//     group 1 (mod N) continues one model on the union of every class seen so far for
//     fedcl.steps × (tasks this round) (joint training, the upper bound: it sees all data).
//  5. Every merged model and both baselines are evaluated per class on every task seen so
//     far, the test examples sharded over the whole world (one Sum per model); per-task and
//     per-client accuracy (launch/fedcl/report.h) are derived from the class accuracies.
//     The round's bytes and wall time are accounted (rank 0's clock).
//
// Note [Expert initialisation]
// fedcl.init = base: every client starts from θ_0, so the task vectors are independent.
// fedcl.init = sequential: a client's next model starts from its previous one (the first
// from θ_0) — MagMax's sequential fine-tuning, per client; τ is still taken against θ_0, so
// it accumulates the client's tasks. Client c always trains on group c mod N, which keeps
// its state (at most ⌈clients/N⌉ models per rank).
// With base and sequential the experts never start from a merged model: that model depends
// on the method, and one set of experts for every method keeps the comparison fair.
// fedcl.init = global: every client starts from the previous round's merged model and the
// merge is over the round's clients, against that model — FedAvg (McMahan et al. 2017)
// with average, FedProx with fedcl.prox_mu > 0. One method per run (each would need its
// own clients). Clients' seeds: the round's seed (train.seed·1000003 + 101·round) + 13·task
// under split = tasks, + 13·client + 5 otherwise.
#pragma once

#include "launch/fedcl/config.h"
#include "launch/fedcl/report.h"
#include "runtime/context.h"

namespace sprout::launch {

// Runs the simulation; collective over ctx.comm. Every rank returns the same report.
// Rank 0 prints one progress line per round.
FedclReport simulate_fedcl(runtime::RuntimeContext& ctx, const FedclConfig& config);

}  // namespace sprout::launch
