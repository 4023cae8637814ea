#!/usr/bin/env bash
# Reproduces launch/README.md "Results: FedAvg vs task-vector merges, 100 clients":
# Fashion-MNIST, 5 class-incremental tasks (one per round, 5 rounds), 100 clients with 10 %
# sampled per round, each client fine-tunes CLIENT_STEPS steps on its shard of the round's
# task; splits IID and Dirichlet alpha = 1.0 and 0.1 (inside each task); SEEDS seeds;
#   fedavg   init = global, average weighted by examples, merged over the round (FedAvg)
#   fedprox  the same with FedProx's proximal term, mu = 0.1
#   experts  init = base: magmax, task_arithmetic and the weighted average over every
#            client expert so far (one set of experts for the three merges)
# then the scale check: one round of 10 and of 100 clients (all sampled) on 4 ranks.
# Sized to stay well under an hour on 2 cores shared with other jobs (about 10-15 min when
# measured): 2 ranks (2 node groups) per run, an MLP 784-256-10 from a fresh initialisation,
# 50 steps of batch 32 per client (≈ 13 epochs of a 120-example shard), 27 runs of 10-20 s.
#   launch/scripts/fedcl_clients_results.sh [OUT_DIR]  (default build/fedcl-clients; SEEDS="0 1 2")
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
OUT=${1:-$ROOT/build/fedcl-clients}
SEEDS=${SEEDS:-0 1 2}
CLIENT_STEPS=${CLIENT_STEPS:-50}
source "$ROOT/launch/scripts/results_lib.sh"
mkdir -p "$OUT"
results_setup fedcl_clients_results "$BIN"

COMMON=(--data.name fashion-mnist --model.kind mlp --model.widths 256 --optim.name sgd --optim.lr 0.05
        --optim.momentum 0.9 --train.batch 32 --fedcl.tasks 5 --fedcl.rounds 5 --fedcl.clients 100 --fedcl.sample 0.1
        --fedcl.steps "$CLIENT_STEPS" --fedcl.warmup_steps 0 --fedcl.baselines false)
run() {  # run NAME ARGS...
  local name=$1; shift
  for seed in $SEEDS; do
    echo "== $name seed $seed"
    mpirun -np 2 "$BIN" fedcl "${COMMON[@]}" --fedcl.nodes 2 --train.seed "$seed" --fedcl.report "$OUT/$name-s$seed" \
      "$@" >"$OUT/$name-s$seed.log" 2>&1
    grep -E "^round" "$OUT/$name-s$seed.log" | tail -1
  done
}
for split in iid "dirichlet --fedcl.alpha 1.0" "dirichlet --fedcl.alpha 0.1"; do
  tag=$(echo "$split" | sed 's/ --fedcl.alpha /-/')
  # shellcheck disable=SC2086
  run "fedavg-$tag" --fedcl.split $split --fedcl.init global --fedcl.methods average
  # shellcheck disable=SC2086
  run "fedprox-$tag" --fedcl.split $split --fedcl.init global --fedcl.methods average --fedcl.prox_mu 0.1
  # shellcheck disable=SC2086
  run "experts-$tag" --fedcl.split $split --fedcl.init base --fedcl.methods magmax,task_arithmetic,average \
    --fedcl.merge_over all
done

# Round time against clients per group: one round, every client trained, 4 ranks = 4 node
# groups (oversubscribed on 2 cores), 10 steps per client.
for clients in 10 100; do
  echo "== scale $clients clients"
  mpirun -np 4 "$BIN" fedcl "${COMMON[@]}" --fedcl.nodes 4 --fedcl.clients "$clients" --fedcl.sample 1 --fedcl.split iid \
    --fedcl.init global --fedcl.methods average --fedcl.tasks 1 --fedcl.rounds 1 --fedcl.steps 10 \
    --fedcl.report "$OUT/scale-$clients" >"$OUT/scale-$clients.log" 2>&1
  grep -E "^round" "$OUT/scale-$clients.log"
done

/usr/bin/python3 "$ROOT/launch/scripts/fedcl_clients_plot.py" "$OUT" --png "$OUT/fedcl-clients.png" \
  --table "$OUT/fedcl-clients.md"
