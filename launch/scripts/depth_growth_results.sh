#!/usr/bin/env bash
# Growing in depth, in width and in both against the deep, wide model from scratch: ResNet
# and ViT on Fashion-MNIST, 2 ranks, the same step budget for every run.
#
#   launch/scripts/depth_growth_results.sh [OUT_DIR]   (default: build/depth-growth-results)
#
# For each family in $FAMILIES and each seed in $SEEDS:
#   resnet (stem 8, stages 8-16-32, SGD):
#     shallow  1 block per stage (depth 10), no growth
#     big      2 blocks per stage (depth 16) from scratch
#     deeper   depth 10, +1 block in stage1, stage2, stage3 at 10 %, 20 %, 30 % of the steps
#     wider    depth 16, every block's inner width a quarter (2-4-8), grown to 8-16-32 at 10 % and 20 %
#     both     depth 10 at a quarter inner width: widened at 10 % and 20 %, deepened at 30 %
#   vit (7×7 patches, width 64, 4 heads, AdamW):
#     shallow  1 block, MLP 128; big 3 blocks, MLP 128
#     deeper   1 block, +1 block at 10 % and at 20 %
#     wider    3 blocks, MLP 32 grown to 128 at 10 % and 20 %
#     both     1 block at MLP 32: widened at 10 % and 20 %, +2 blocks at 30 %
#   deeper_random (both families): as deeper, the new blocks' first layers drawn at random
# Growth uses GradMax (depth: the new block's last layers; width: the new units' fan-out)
# unless the row says random.
# A new block copies the widths of the block before it, so "both" widens first.
# FLOPs: the summary's train_flops (6 × MACs per example × examples, at the size in force at
# every step; GradMax's statistics batch not counted). Writes OUT/results.md and
# OUT/depth-growth.png (final accuracy against training FLOPs / big).
# 36 runs of 600 steps: about 12 minutes on the 2 shared cores at load average 3–6.
# Environment: FAMILIES ("resnet vit"), SEEDS ("0 1 2"), STEPS (600), NP (2), SPROUT_BIN;
# PUBLISH=1 copies the table and the plot to launch/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/depth-growth-results}
FAMILIES=${FAMILIES:-"resnet vit"}
SEEDS=${SEEDS:-"0 1 2"}
NP=${NP:-2}
STEPS=${STEPS:-600}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
results_setup depth_growth_results "$BIN"
mkdir -p "$OUT/runs"
(( STEPS >= 20 )) || { echo "depth_growth_results: STEPS must be >= 20, got $STEPS"; exit 2; }
S1=$(( STEPS / 10 )) S2=$(( 2 * STEPS / 10 )) S3=$(( 3 * STEPS / 10 ))

COMMON=(--data.name fashion-mnist --train.steps "$STEPS" --train.batch 64 --optim.schedule cosine
        --train.eval_every $(( STEPS / 2 )) --train.log_every $(( STEPS / 30 > 0 ? STEPS / 30 : 1 ))
        --log.progress lines --runtime.threads 1 --growth.batch 128)
RESNET=(--model.kind resnet --model.stem 8 --model.stages 8,16,32 --optim.name sgd --optim.lr 0.05
        --optim.momentum 0.9 --optim.weight_decay 0.0005)
VIT=(--model.kind vit --model.dim 64 --model.heads 4 --model.head_dim 16 --model.patch 7
     --optim.name adamw --optim.lr 0.002 --optim.weight_decay 0.05 --optim.warmup $(( STEPS / 20 )))

run() {  # run FAMILY NAME SEED ARGS...
  local family=$1 name=$2 seed=$3; shift 3
  local base="$OUT/runs/$family-$name-seed$seed" model=("${RESNET[@]}")
  [[ $family == vit ]] && model=("${VIT[@]}")
  echo "== $family $name seed $seed"
  local t0=$SECONDS
  [[ " $* " == *" --growth.strategy "* ]] || set -- --growth.strategy gradmax "$@"
  mpirun -np "$NP" "$BIN" train "${COMMON[@]}" "${model[@]}" --train.seed "$seed" --log.metrics "$base.jsonl" "$@" \
    >"$base.out" 2>"$base.err" || { echo "run $family $name seed $seed failed:"; tail -5 "$base.err"; exit 1; }
  tail -n 1 "$base.out" >"$base.json"
  echo "   $(grep -o '"test_accuracy":[0-9.]*' "$base.json")  $((SECONDS - t0)) s"
}

# widen SITE FROM TO: two width events, at S1 and S2, FROM -> TO.
widen() { local h=$(( ($3 - $2) / 2 )); printf -- '--growth.event\n%s:%s:+%s\n--growth.event\n%s:%s:+%s\n' "$S1" "$1" "$h" "$S2" "$1" $(( $3 - $2 - h )); }
ev() { printf -- '--growth.event\n%s\n' "$1"; }

resnet_runs() {
  local seed=$1 deeper=() wider=() both=()
  mapfile -t deeper < <(ev "$S1:stage1:+1block"; ev "$S2:stage2:+1block"; ev "$S3:stage3:+1block")
  # depth 16: blocks 1-2 in stage 1, 3-4 in stage 2, 5-6 in stage 3
  mapfile -t wider < <(widen block1.conv1 2 8; widen block2.conv1 2 8; widen block3.conv1 4 16; widen block4.conv1 4 16
                       widen block5.conv1 8 32; widen block6.conv1 8 32)
  mapfile -t both < <(widen block1.conv1 2 8; widen block2.conv1 4 16; widen block3.conv1 8 32
                      ev "$S3:stage1:+1block"; ev "$S3:stage2:+1block"; ev "$S3:stage3:+1block")
  run resnet shallow "$seed" --model.depth 10
  run resnet big "$seed" --model.depth 16
  run resnet deeper "$seed" --model.depth 10 "${deeper[@]}"
  run resnet deeper_random "$seed" --model.depth 10 --growth.strategy random "${deeper[@]}"
  run resnet wider "$seed" --model.depth 16 --model.inner 2,2,4,4,8,8 "${wider[@]}"
  run resnet both "$seed" --model.depth 10 --model.inner 2,4,8 "${both[@]}"
}

vit_runs() {
  local seed=$1 deeper=() wider=() both=()
  mapfile -t deeper < <(ev "$S1:blocks:+1block"; ev "$S2:blocks:+1block")
  mapfile -t wider < <(widen block1.fc1 32 128; widen block2.fc1 32 128; widen block3.fc1 32 128)
  mapfile -t both < <(widen block1.fc1 32 128; ev "$S3:blocks:+2block")
  run vit shallow "$seed" --model.depth 1 --model.mlp 128
  run vit big "$seed" --model.depth 3 --model.mlp 128
  run vit deeper "$seed" --model.depth 1 --model.mlp 128 "${deeper[@]}"
  run vit deeper_random "$seed" --model.depth 1 --model.mlp 128 --growth.strategy random "${deeper[@]}"
  run vit wider "$seed" --model.depth 3 --model.mlp 32 "${wider[@]}"
  run vit both "$seed" --model.depth 1 --model.mlp 32 "${both[@]}"
}

for family in $FAMILIES; do
  for seed in $SEEDS; do "${family}_runs" "$seed"; done
done
wall=$SECONDS
/usr/bin/python3 "$ROOT/launch/scripts/depth_growth_results.py" "$OUT" --steps "$STEPS" --np "$NP"
printf '\nMeasured: %s runs on %s ranks in %d s wall time, load average at the end: %s.\n' \
  "$(ls "$OUT"/runs/*.json | wc -l)" "$NP" "$wall" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/results.md"
echo "depth_growth_results: wrote $OUT/results.md and $OUT/depth-growth.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/depth-growth.md"
  cp "$OUT/depth-growth.png" "$ROOT/launch/results/depth-growth.png"
  echo "depth_growth_results: published to launch/results/depth-growth.{md,png}"
fi
