#!/usr/bin/env bash
# Automatic growth against hand-written schedules: the measured comparison on Fashion-MNIST,
# 2 ranks, the same number of steps, optimizer and learning-rate schedule.
#
#   launch/scripts/auto_growth_results.sh [OUT_DIR]        (default: build/auto-growth-results)
#
# Runs, for each seed in $SEEDS (default "0 1 2"), an MLP 784-64-64-10 grown by GradMax to
# at most the parameters of 784-256-256-10 (269,322):
#   auto        growth.auto = true (when, where and how much decided while training; the
#               growth.* options in AUTO below), growth.max_params 269322; the bound per
#               added parameter (growth.auto_cost params, the default)
#   auto-none   the same with the bound not normalised (growth.auto_cost none)
#   hand-early  6 growths of +32 per layer every 50 steps from step 50   (full size at 300)
#   hand-paper  6 growths of +32 per layer every 100 steps from step 100 (full size at 600,
#               the schedule of growth_results.sh)
#   hand-late   6 growths of +32 per layer every 150 steps from step 300 (full size at 1050)
# then writes OUT_DIR/results.md (test accuracy mean ± std, final widths and parameters,
# training FLOPs counted analytically from the widths at every step, the automatic
# decisions) and OUT_DIR/auto_growth.png via launch/scripts/auto_growth_results.py.
# About 5 minutes on 2 quiet cores. Environment: SEEDS, EPOCHS (default 3), NP (default 2),
# SPROUT_BIN, AUTO (the automatic growth options); PUBLISH=1 also copies the table and the
# plot to launch/results/ (what growth/README.md shows).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/auto-growth-results}
SEEDS=${SEEDS:-"0 1 2"}
EPOCHS=${EPOCHS:-3}
NP=${NP:-2}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
results_setup auto_growth_results "$BIN"
mkdir -p "$OUT/runs"
MAX_PARAMS=269322  # 784-256-256-10: 784·256+256 + 256·256+256 + 256·10+10

COMMON=(--data.name fashion-mnist --train.epochs "$EPOCHS" --train.batch 64 --optim.name sgd --optim.lr 0.05
        --optim.momentum 0.9 --optim.weight_decay 0.0001 --optim.schedule cosine --train.eval_every 117
        --train.log_every 39 --log.progress lines --runtime.threads 1 --model.widths 64,64 --growth.strategy gradmax)
read -r -a AUTO_ARGS <<< "${AUTO:---growth.window 50 --growth.patience 1 --growth.min_delta 0.03 --growth.cooldown 50 --growth.auto_start 50 --growth.auto_fraction 0.5}"
HAND=(--growth.times 6 --growth.target fc1:256,fc2:256)

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
  run auto "$seed" --growth.auto true "${AUTO_ARGS[@]}" --growth.max_params "$MAX_PARAMS"
  run auto-none "$seed" --growth.auto true "${AUTO_ARGS[@]}" --growth.max_params "$MAX_PARAMS" --growth.auto_cost none
  run hand-early "$seed" "${HAND[@]}" --growth.start 50 --growth.every 50
  run hand-paper "$seed" "${HAND[@]}" --growth.start 100 --growth.every 100
  run hand-late "$seed" "${HAND[@]}" --growth.start 300 --growth.every 150
done
/usr/bin/python3 "$ROOT/launch/scripts/auto_growth_results.py" "$OUT" --batch $((64 * NP)) --growth-batch 128 \
  --command "launch/scripts/auto_growth_results.sh (SEEDS=\"$SEEDS\" EPOCHS=$EPOCHS NP=$NP AUTO=\"${AUTO_ARGS[*]}\")"
echo "auto_growth_results: wrote $OUT/results.md and $OUT/auto_growth.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/auto_growth.md"
  cp "$OUT/auto_growth.png" "$ROOT/launch/results/auto_growth.png"
  echo "auto_growth_results: published to launch/results/auto_growth.{md,png}"
fi
