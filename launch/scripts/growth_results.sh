#!/usr/bin/env bash
# Growing while training: the measured comparison on Fashion-MNIST, 2 ranks, same budget.
#
#   launch/scripts/growth_results.sh [OUT_DIR]        (default: build/growth-results)
#
# Runs, for each seed in $SEEDS (default "0 1 2"), the same number of steps with the same
# optimizer and learning-rate schedule:
#   small    MLP 784-64-64-10, no growth
#   big      MLP 784-256-256-10 from scratch
#   gradmax, random, net2net, vt:  64-64 grown to 256-256 (growth.* options below)
# then writes OUT_DIR/results.md (table: test accuracy mean ± std, wall time, training
# FLOPs counted analytically from the widths at every step) and OUT_DIR/growth.png (test
# accuracy and width against step), via launch/scripts/growth_results.py. About 6-10 minutes on
# 2 cores. Environment: SEEDS, EPOCHS (default 3), NP (default 2), SPROUT_BIN; PUBLISH=1
# also copies the table and the plot to launch/results/ (what growth/README.md shows).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/growth-results}
SEEDS=${SEEDS:-"0 1 2"}
EPOCHS=${EPOCHS:-3}
NP=${NP:-2}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
results_setup growth_results "$BIN"
mkdir -p "$OUT/runs"

# The schedule: 6 growths of 32 units per site, every 100 steps from step 100 (the run has
# 3 epochs = 1404 steps at batch 64 x 2 ranks), i.e. 64 -> 256 within the first 43 %.
COMMON=(--data.name fashion-mnist --train.epochs "$EPOCHS" --train.batch 64 --optim.name sgd --optim.lr 0.05
        --optim.momentum 0.9 --optim.weight_decay 0.0001 --optim.schedule cosine --train.eval_every 117
        --train.log_every 39 --log.progress lines --runtime.threads 1)
GROW=(--model.widths 64,64 --growth.start 100 --growth.every 100 --growth.times 6 --growth.target fc1:256,fc2:256)

run() {  # run NAME SEED ARGS...
  local name=$1 seed=$2; shift 2
  local base="$OUT/runs/$name-seed$seed"
  echo "== $name seed $seed"
  mpirun -np "$NP" "$BIN" train "${COMMON[@]}" --train.seed "$seed" --log.metrics "$base.jsonl" "$@" \
    >"$base.out" 2>"$base.err" || { echo "run $name seed $seed failed:"; tail -5 "$base.err"; exit 1; }
  tail -n 1 "$base.out" >"$base.json"
  grep -o '"test_accuracy":[0-9.]*' "$base.json"
}

for seed in $SEEDS; do
  run small "$seed" --model.widths 64,64
  run big "$seed" --model.widths 256,256
  for strategy in gradmax random net2net vt; do
    run "$strategy" "$seed" "${GROW[@]}" --growth.strategy "$strategy"
  done
done
/usr/bin/python3 "$ROOT/launch/scripts/growth_results.py" "$OUT" --batch $((64 * NP)) --growth-batch 128
echo "growth_results: wrote $OUT/results.md and $OUT/growth.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/growth.md"
  cp "$OUT/growth.png" "$ROOT/launch/results/growth.png"
  echo "growth_results: published to launch/results/growth.{md,png}"
fi
