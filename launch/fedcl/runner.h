// The federated continual-learning simulation of `sprout fedcl`.
//
// Note [Federated continual-learning run]
//  1. The world is split into fedcl.nodes node groups (merge/collective.h); a group trains
//     data-parallel on its own communicator, with launch::Trainer.
//  2. θ_0: fedcl.warmup_steps of training on fedcl.warmup_classes on the whole world (or
//     the fresh initialisation); every rank holds it.
//  3. Each round (Note [Federated continual-learning plan]) every group dealt a task
//     fine-tunes an expert on it for fedcl.steps (Note [Expert initialisation]) and keeps
//     it; then each method merges every expert trained so far — the groups' experts, never
//     gathered, by collective_merge — so the round-r model should know every task seen.
//  4. On the same budget, the baselines: group 0 fine-tunes one model through the round's
//     tasks in order (sequential fine-tuning, the lower bound: no merging, it forgets);
//     group 1 (mod N) continues one model on the union of every class seen so far for
//     fedcl.steps × (tasks this round) (joint training, the upper bound: it sees all data).
//  5. Every merged model and both baselines are evaluated on every task seen so far, the
//     test examples sharded over the whole world (one Sum per model).
//
// Note [Expert initialisation]
// fedcl.init = base: every expert starts from θ_0, so the task vectors are independent.
// fedcl.init = sequential: a group's next expert starts from its previous expert (the first
// from θ_0) — MagMax's sequential fine-tuning, per group; τ is still taken against θ_0, so
// it accumulates the group's tasks. Experts never start from a merged model: that model
// depends on the method, and one set of experts for every method keeps the comparison fair
// and the cost at one fine-tuning per task.
#pragma once

#include "launch/fedcl/config.h"
#include "launch/fedcl/report.h"
#include "runtime/context.h"

namespace sprout::launch {

// Runs the simulation; collective over ctx.comm. Every rank returns the same report.
// Rank 0 prints one progress line per round.
FedclReport simulate_fedcl(runtime::RuntimeContext& ctx, const FedclConfig& config);

}  // namespace sprout::launch
