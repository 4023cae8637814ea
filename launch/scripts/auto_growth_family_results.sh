#!/usr/bin/env bash
# Automatic growth on ResNet and ViT against hand-written schedules that reach the same final
# size: Fashion-MNIST, 2 ranks, the same step budget for every run.
#
#   launch/scripts/auto_growth_family_results.sh [OUT_DIR]   (default: build/auto-growth-family-results)
#
# For each family in $FAMILIES and each seed in $SEEDS (the models of depth_growth_results.sh):
#   resnet (stem 8, stages 8-16-32, SGD); the final size: depth 16 (2 blocks per stage), inner
#   widths 8-16-32:
#     hand_depth   depth 10, +1 block in stage1, stage2, stage3 at 10 %, 20 %, 30 % of the steps
#     hand_width   depth 16 at a quarter inner width (2-2-4-4-8-8), widened at 10 % and 20 %
#     hand_both    depth 10 at a quarter inner width: widened at 10 % and 20 %, deepened at 30 %
#     auto         depth 10 at a quarter inner width, growth.auto with width and depth candidates
#     auto_eager   the same, a plateau at 10 % instead of 3 % (growth.min_delta 0.1)
#     auto_width   depth 16 at a quarter inner width, growth.auto_kinds width
#   vit (7×7 patches, width 64, 4 heads, AdamW); the final size: 3 blocks, MLP 128:
#     hand_depth   1 block, +1 block at 10 % and at 20 %
#     hand_width   3 blocks at MLP 32, grown to 128 at 10 % and 20 %
#     hand_both    1 block at MLP 32: widened at 10 % and 20 %, +2 blocks at 30 %
#     auto         1 block at MLP 32, growth.auto with width and depth candidates
#     auto_eager   the same, growth.min_delta 0.1
#     auto_width   3 blocks at MLP 32, growth.auto_kinds width
# Every automatic run has the final size's parameters as growth.max_params and the same
# plateau settings (windows of 20 steps, patience 1, a 3 % improvement (auto_eager: 10 %), cooldown 20, no
# growth before 5 % of the steps, growth by the group's width: auto_fraction 1). The models
# trained from scratch at the final size are in depth_growth_results.sh. Every run, hand or
# automatic, initialises new units and blocks at random (growth.strategy random): GradMax's
# initialisation knocks new ResNet units and new blocks out on these runs
# (launch/results/depth-growth.md); the automatic runs still choose by GradMax's bound.
# FLOPs: the summary's train_flops (6 × MACs per example × examples, at the size in force at
# every step; statistics batches not counted). Writes OUT/results.md and
# OUT/auto-growth-family.png (accuracy against training FLOPs).
# 36 runs of 300 steps, one evaluation each at the end. A run whose summary is already in OUT
# is not repeated (an interrupted script continues; a new row adds only its runs). Environment: FAMILIES ("resnet vit"),
# SEEDS ("0 1 2"), STEPS (300),
# NP (2), SPROUT_BIN; PUBLISH=1 copies the table and the plot to launch/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/auto-growth-family-results}
FAMILIES=${FAMILIES:-"resnet vit"}
SEEDS=${SEEDS:-"0 1 2"}
NP=${NP:-2}
STEPS=${STEPS:-300}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
results_setup auto_growth_family_results "$BIN"
mkdir -p "$OUT/runs"
(( STEPS >= 40 )) || { echo "auto_growth_family_results: STEPS must be >= 40, got $STEPS"; exit 2; }
S1=$(( STEPS / 10 )) S2=$(( 2 * STEPS / 10 )) S3=$(( 3 * STEPS / 10 ))

COMMON=(--data.name fashion-mnist --train.steps "$STEPS" --train.batch 64 --optim.schedule cosine
        --train.eval_every "$STEPS" --train.log_every $(( STEPS / 30 > 0 ? STEPS / 30 : 1 ))
        --log.progress lines --runtime.threads 1 --growth.batch 128 --growth.strategy random)
RESNET=(--model.kind resnet --model.stem 8 --model.stages 8,16,32 --optim.name sgd --optim.lr 0.05
        --optim.momentum 0.9 --optim.weight_decay 0.0005)
VIT=(--model.kind vit --model.dim 64 --model.heads 4 --model.head_dim 16 --model.patch 7
     --optim.name adamw --optim.lr 0.002 --optim.weight_decay 0.05 --optim.warmup $(( STEPS / 20 )))
AUTO=(--growth.auto true --growth.window 20 --growth.patience 1 --growth.cooldown 20
      --growth.auto_start $(( STEPS / 20 )) --growth.auto_fraction 1)

run() {  # run FAMILY NAME SEED ARGS...
  local family=$1 name=$2 seed=$3; shift 3
  local base="$OUT/runs/$family-$name-seed$seed" model=("${RESNET[@]}")
  [[ $family == vit ]] && model=("${VIT[@]}")
  if [[ -s $base.json ]]; then echo "== $family $name seed $seed: done before ($base.json)"; return; fi
  echo "== $family $name seed $seed"
  local t0=$SECONDS
  mpirun -np "$NP" "$BIN" train "${COMMON[@]}" "${model[@]}" --train.seed "$seed" --log.metrics "$base.jsonl" "$@" \
    >"$base.out" 2>"$base.err" || { echo "run $family $name seed $seed failed:"; tail -5 "$base.err"; exit 1; }
  tail -n 1 "$base.out" >"$base.json"
  echo "   $(grep -o '"test_accuracy":[0-9.]*' "$base.json")  $((SECONDS - t0)) s"
}

# widen SITE FROM TO: two width events, at S1 and S2, FROM -> TO.
widen() { local h=$(( ($3 - $2) / 2 )); printf -- '--growth.event\n%s:%s:+%s\n--growth.event\n%s:%s:+%s\n' "$S1" "$1" "$h" "$S2" "$1" $(( $3 - $2 - h )); }
ev() { printf -- '--growth.event\n%s\n' "$1"; }
# final_params FAMILY ARGS...: the parameters of the final size as growth.max_params counts them
# (growth/auto_growth.h model_size), read from the refusal of a budget of 1.
final_params() {
  local family=$1 model=("${RESNET[@]}"); shift
  [[ $family == vit ]] && model=("${VIT[@]}")
  "$BIN" train --data.name fashion-mnist --train.steps 1 "${model[@]}" "$@" --growth.auto true --growth.max_params 1 2>&1 \
    | sed -n 's/.*is below the model.s \([0-9]*\) parameters.*/\1/p' | head -n 1 || true  # the run is refused
}

resnet_runs() {
  local seed=$1 deeper=() wider=() both=() max
  max=$(final_params resnet --model.depth 16)
  [[ -n $max ]] || { echo "auto_growth_family_results: no parameter count for the final resnet"; exit 1; }
  echo "$max" >"$OUT/runs/resnet-max_params.txt"
  mapfile -t deeper < <(ev "$S1:stage1:+1block"; ev "$S2:stage2:+1block"; ev "$S3:stage3:+1block")
  mapfile -t wider < <(widen block1.conv1 2 8; widen block2.conv1 2 8; widen block3.conv1 4 16; widen block4.conv1 4 16
                       widen block5.conv1 8 32; widen block6.conv1 8 32)
  mapfile -t both < <(widen block1.conv1 2 8; widen block2.conv1 4 16; widen block3.conv1 8 32
                      ev "$S3:stage1:+1block"; ev "$S3:stage2:+1block"; ev "$S3:stage3:+1block")
  run resnet hand_depth "$seed" --model.depth 10 "${deeper[@]}"
  run resnet hand_width "$seed" --model.depth 16 --model.inner 2,2,4,4,8,8 "${wider[@]}"
  run resnet hand_both "$seed" --model.depth 10 --model.inner 2,4,8 "${both[@]}"
  run resnet auto "$seed" --model.depth 10 --model.inner 2,4,8 "${AUTO[@]}" --growth.max_params "$max" --growth.min_delta 0.03
  run resnet auto_eager "$seed" --model.depth 10 --model.inner 2,4,8 "${AUTO[@]}" --growth.max_params "$max" \
    --growth.min_delta 0.1
  run resnet auto_width "$seed" --model.depth 16 --model.inner 2,2,4,4,8,8 "${AUTO[@]}" --growth.max_params "$max" \
    --growth.min_delta 0.03 --growth.auto_kinds width
}

vit_runs() {
  local seed=$1 deeper=() wider=() both=() max
  max=$(final_params vit --model.depth 3 --model.mlp 128)
  [[ -n $max ]] || { echo "auto_growth_family_results: no parameter count for the final vit"; exit 1; }
  echo "$max" >"$OUT/runs/vit-max_params.txt"
  mapfile -t deeper < <(ev "$S1:blocks:+1block"; ev "$S2:blocks:+1block")
  mapfile -t wider < <(widen block1.fc1 32 128; widen block2.fc1 32 128; widen block3.fc1 32 128)
  mapfile -t both < <(widen block1.fc1 32 128; ev "$S3:blocks:+2block")
  run vit hand_depth "$seed" --model.depth 1 --model.mlp 128 "${deeper[@]}"
  run vit hand_width "$seed" --model.depth 3 --model.mlp 32 "${wider[@]}"
  run vit hand_both "$seed" --model.depth 1 --model.mlp 32 "${both[@]}"
  run vit auto "$seed" --model.depth 1 --model.mlp 32 "${AUTO[@]}" --growth.max_params "$max" --growth.min_delta 0.03
  run vit auto_eager "$seed" --model.depth 1 --model.mlp 32 "${AUTO[@]}" --growth.max_params "$max" --growth.min_delta 0.1
  run vit auto_width "$seed" --model.depth 3 --model.mlp 32 "${AUTO[@]}" --growth.max_params "$max" --growth.min_delta 0.03 \
    --growth.auto_kinds width
}

for family in $FAMILIES; do
  for seed in $SEEDS; do "${family}_runs" "$seed"; done
done
/usr/bin/python3 "$ROOT/launch/scripts/auto_growth_family_results.py" "$OUT" --steps "$STEPS" --np "$NP"
printf '\nMeasured: %s runs on %s ranks. %s.\n' "$(ls "$OUT"/runs/*.json | wc -l)" "$NP" \
  "$(results_cpu_line auto_growth_family_results)" >>"$OUT/results.md"
echo "auto_growth_family_results: wrote $OUT/results.md and $OUT/auto-growth-family.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/auto_growth_family.md"
  cp "$OUT/auto-growth-family.png" "$ROOT/launch/results/auto_growth_family.png"
  echo "auto_growth_family_results: published to launch/results/auto_growth_family.{md,png}"
fi
