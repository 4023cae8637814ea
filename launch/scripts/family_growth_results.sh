#!/usr/bin/env bash
# Growing a ResNet and a ViT while they train: the measured comparison on Fashion-MNIST,
# 2 ranks, the same step budget for every run (the MLP study is growth_results.sh).
#
#   launch/scripts/family_growth_results.sh [OUT_DIR]   (default: build/family-growth-results)
#
# For each family in $FAMILIES and each seed in $SEEDS, the same number of steps, optimizer
# and learning-rate schedule for:
#   resnet (ResNet-10 at half width: stem 8, stages 8-16-32, one block per stage):
#     small    block inner widths 2-4-8 (a quarter of the stage widths), no growth
#     big      inner widths 8-16-32 from scratch
#     gradmax, random, net2net, vt:  inner 2-4-8 grown to 8-16-32 (4 growths)
#     net2net-stages:  stem and stages 4-8-16 and inner 2-4-8, all grown by net2net to the
#              big model (the residual width groups double at the second growth)
#   vit (7×7 patches, width 64, 2 blocks, 4 heads of 16):
#     small    MLP hidden width 32 per block, no growth
#     big      MLP hidden width 128 from scratch
#     gradmax, random, net2net:  MLP 32 grown to 128 (4 growths); variance transfer refuses
#              GELU sites (checked: the run must end with that one line), so it has no row
#     gradmax-heads:  2 heads per block and MLP 32, both grown by gradmax to the big model
#              (+2 heads per block at the second growth)
# Growths at STEPS/10, 2·STEPS/10, 3·STEPS/10, 4·STEPS/10: full width from 40 % of the run.
# Then family_growth_results.py writes OUT_DIR/results.md (test accuracy mean ± std, wall
# time, training FLOPs counted from the widths in force at every step, FLOPs / big) and
# OUT_DIR/family-growth.png (model size against step; final accuracy against FLOPs / big).
#
# Environment: FAMILIES ("resnet vit"), SEEDS ("0 1 2"), STEPS (600; or EPOCHS, which sets
# STEPS to that many passes over the 60,000 training images), NP (2), GROUP_ROWS (1: also the
# width-group rows), SPROUT_BIN; PUBLISH=1 copies the table and the plot to launch/results/
# (what growth/README.md shows). With STEPS=300: 44 minutes on the 2 shared cores at load
# average 10–20, 11.6 CPU-minutes, so about 6 minutes on 2 quiet cores; the default 600
# steps about twice that.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/family-growth-results}
FAMILIES=${FAMILIES:-"resnet vit"}
SEEDS=${SEEDS:-"0 1 2"}
NP=${NP:-2}
BATCH=64
if [[ -n ${EPOCHS:-} ]]; then
  STEPS=$(( (EPOCHS * 60000 + BATCH * NP - 1) / (BATCH * NP) ))
fi
STEPS=${STEPS:-600}
GROUP_ROWS=${GROUP_ROWS:-1}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
results_setup family_growth_results "$BIN"
mkdir -p "$OUT/runs"
(( STEPS >= 20 )) || { echo "family_growth_results: STEPS must be >= 20, got $STEPS"; exit 2; }
EVERY=$(( STEPS / 10 ))
GROWTH_STEPS=($EVERY $((2 * EVERY)) $((3 * EVERY)) $((4 * EVERY)))

COMMON=(--data.name fashion-mnist --train.steps "$STEPS" --train.batch "$BATCH" --optim.schedule cosine
        --train.eval_every $(( STEPS / 2 )) --train.log_every $(( STEPS / 30 > 0 ? STEPS / 30 : 1 ))
        --log.progress lines --runtime.threads 1 --growth.batch 128)
RESNET=(--model.kind resnet --model.depth 10 --model.stem 8 --model.stages 8,16,32 --optim.name sgd --optim.lr 0.05 --optim.momentum 0.9
        --optim.weight_decay 0.0005)
VIT=(--model.kind vit --model.depth 2 --model.dim 64 --model.heads 4 --model.head_dim 16 --model.patch 7
     --optim.name adamw --optim.lr 0.002 --optim.weight_decay 0.05 --optim.warmup $(( STEPS / 20 )))

# events SITE FROM TO: 4 growths from FROM to TO units at GROWTH_STEPS (the earliest get the
# remainder), as --growth.event options.
events() {
  local site=$1 from=$2 to=$3 i
  for i in 0 1 2 3; do
    printf -- '--growth.event\n%s:%s:+%s\n' "${GROWTH_STEPS[i]}" "$site" $(( (to - from) / 4 + (i < (to - from) % 4 ? 1 : 0) ))
  done
}
# group_event SITE ADD: one growth at the second growth step.
group_event() { printf -- '--growth.event\n%s:%s:+%s\n' "${GROWTH_STEPS[1]}" "$1" "$2"; }

# run FAMILY NAME SEED ARGS...: one training run; its summary line goes to .json, metrics to .jsonl.
run() {
  local family=$1 name=$2 seed=$3; shift 3
  local base="$OUT/runs/$family-$name-seed$seed" model=("${RESNET[@]}")
  [[ $family == vit ]] && model=("${VIT[@]}")
  echo "== $family $name seed $seed"
  local t0=$SECONDS
  mpirun -np "$NP" "$BIN" train "${COMMON[@]}" "${model[@]}" --train.seed "$seed" --log.metrics "$base.jsonl" "$@" \
    >"$base.out" 2>"$base.err" || { echo "run $family $name seed $seed failed:"; tail -5 "$base.err"; exit 1; }
  tail -n 1 "$base.out" >"$base.json"
  echo "   $(grep -o '"test_accuracy":[0-9.]*' "$base.json")  $((SECONDS - t0)) s"
}

resnet_runs() {
  local seed=$1 strategy grow=()
  mapfile -t grow < <(events block1.conv1 2 8; events block2.conv1 4 16; events block3.conv1 8 32)
  run resnet small "$seed" --model.inner 2,4,8
  run resnet big "$seed"
  for strategy in gradmax random net2net vt; do
    run resnet "$strategy" "$seed" --model.inner 2,4,8 --growth.strategy "$strategy" "${grow[@]}"
  done
  if [[ $GROUP_ROWS == 1 ]]; then
    local stages=()
    mapfile -t stages < <(group_event stage1 4; group_event stage2 8; group_event stage3 16)
    run resnet net2net-stages "$seed" --model.stem 4 --model.stages 4,8,16 --model.inner 2,4,8 \
      --growth.strategy net2net "${grow[@]}" "${stages[@]}"
  fi
}

vit_runs() {
  local seed=$1 strategy grow=()
  mapfile -t grow < <(events block1.fc1 32 128; events block2.fc1 32 128)
  run vit small "$seed" --model.mlp 32
  run vit big "$seed" --model.mlp 128
  for strategy in gradmax random net2net; do
    run vit "$strategy" "$seed" --model.mlp 32 --growth.strategy "$strategy" "${grow[@]}"
  done
  if [[ $GROUP_ROWS == 1 ]]; then
    local heads=()
    mapfile -t heads < <(group_event block1.heads 2; group_event block2.heads 2)
    run vit gradmax-heads "$seed" --model.mlp 32 --model.block_heads 2,2 --growth.strategy gradmax "${grow[@]}" "${heads[@]}"
  fi
}

# Variance transfer on a ViT's GELU sites must be refused before training, with one line and status 2.
vt_refusal() {
  local grow=() rc=0
  mapfile -t grow < <(events block1.fc1 32 128)
  mpirun -np "$NP" "$BIN" train "${COMMON[@]}" "${VIT[@]}" --model.mlp 32 --growth.strategy vt "${grow[@]}" \
    >"$OUT/runs/vit-vt-refused.out" 2>"$OUT/runs/vit-vt-refused.err" || rc=$?
  if [[ $rc != 2 ]]; then echo "family_growth_results: vt on a ViT ended with status $rc, expected a refusal (2)"; exit 1; fi
  cat "$OUT/runs/vit-vt-refused.err" "$OUT/runs/vit-vt-refused.out" | grep -m1 -i "gelu\|variance\|vt" >"$OUT/runs/vit-vt-refused.txt" || true
  echo "== vit vt refused: $(cat "$OUT/runs/vit-vt-refused.txt")"
}

for family in $FAMILIES; do
  [[ $family == vit ]] && vt_refusal
  for seed in $SEEDS; do "${family}_runs" "$seed"; done
done
timing=$(results_cpu_line family_growth_results)
echo "$timing"
/usr/bin/python3 "$ROOT/launch/scripts/family_growth_results.py" "$OUT" --batch $((BATCH * NP)) --growth-batch 128
printf '\nMeasured (%s ranks): %s.\n' "$NP" "${timing#*: }" >>"$OUT/results.md"
echo "family_growth_results: wrote $OUT/results.md and $OUT/family-growth.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/family-growth.md"
  cp "$OUT/family-growth.png" "$ROOT/launch/results/family-growth.png"
  echo "family_growth_results: published to launch/results/family-growth.{md,png}"
fi
