#!/usr/bin/env bash
# A slimmable ResNet or ViT and its dynamic gate on the accuracy–MACs plane: Fashion-MNIST,
# 2 ranks, several seeds (the MLP and CNN tables are slimmable_results.sh).
#
#   FAMILY=resnet|vit launch/scripts/slimmable_family_results.sh [OUT_DIR]
#   (default OUT_DIR: build/slimmable-<family>-results)
#
# For each seed in $SEEDS: the model trained as a DS-Net supernet (train.mode = slimmable:
# every inner width site at 0.25, 0.5, 0.75 and 1 of its width, sandwich rule, in-place
# bootstrapping from the EMA teacher) for STEPS steps, then its dynamic gate for GATE_STEPS
# steps (supernet frozen). The run evaluates every static width and the gate's argmax on the
# 10,000 test images; `sprout eval --gate_confidence` then routes by the gate's cumulative
# probability at $CONFIDENCES on the final checkpoint.
#   resnet: ResNet-10 at half width (stem 8, stages 8-16-32), every block's inner width and
#           the three stages (stem, shortcuts, the stream) slimmed; SGD momentum 0.9, lr 0.05
#           cosine, weight decay 5e-4
#   vit:    7×7 patches, width 64, 2 blocks, 4 heads, MLP 128, every block's MLP width
#           slimmed; AdamW lr 0.002, 5 % warm-up, cosine, weight decay 0.05
# slimmable_family_results.py writes OUT_DIR/results.md (per width: accuracy mean ± std and
# MACs; the gate's accuracy minus the static widths' interpolated at the same MACs, per
# seed) and OUT_DIR/slimmable-<family>.png (the accuracy–MACs plane).
#
# Environment: FAMILY (resnet), SEEDS ("0 1 2"), STEPS (600; or EPOCHS: that many passes over
# the 60,000 training images), GATE_STEPS (200), NP (2), CONFIDENCES (0.6,0.8,0.9,0.95),
# SPROUT_BIN; PUBLISH=1 copies the table and the plot to launch/results/ (growth/README.md
# shows them).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAMILY=${FAMILY:-resnet}
OUT=${1:-$ROOT/build/slimmable-$FAMILY-results}
SEEDS=${SEEDS:-"0 1 2"}
NP=${NP:-2}
BATCH=64
if [[ -n ${EPOCHS:-} ]]; then
  STEPS=$(( (EPOCHS * 60000 + BATCH * NP - 1) / (BATCH * NP) ))
fi
STEPS=${STEPS:-600}
GATE_STEPS=${GATE_STEPS:-200}
CONFIDENCES=${CONFIDENCES:-0.6,0.8,0.9,0.95}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
results_setup slimmable_family_results "$BIN"
case $FAMILY in
  resnet) MODEL=(--model.kind resnet --model.depth 10 --model.stem 8 --model.stages 8,16,32 --optim.name sgd
                 --optim.lr 0.05 --optim.momentum 0.9 --optim.weight_decay 0.0005) ;;
  vit) MODEL=(--model.kind vit --model.depth 2 --model.dim 64 --model.heads 4 --model.patch 7 --model.mlp 128
              --optim.name adamw --optim.lr 0.002 --optim.weight_decay 0.05 --optim.warmup $(( STEPS / 20 ))) ;;
  *) echo "slimmable_family_results: FAMILY must be resnet or vit, got '$FAMILY'"; exit 2 ;;
esac
mkdir -p "$OUT"

for seed in $SEEDS; do
  base="$OUT/seed$seed"
  echo "== slimmable $FAMILY seed $seed"
  t0=$SECONDS
  rm -rf "$base-ck"
  mpirun -np "$NP" "$BIN" train --data.name fashion-mnist "${MODEL[@]}" --optim.schedule cosine \
    --train.mode slimmable --train.batch "$BATCH" --train.steps "$STEPS" --train.seed "$seed" \
    --train.log_every $(( STEPS / 20 > 0 ? STEPS / 20 : 1 )) --runtime.threads 1 \
    --slim.ratios 0.25,0.5,0.75,1 --slim.random 2 --slim.distill bootstrap --slim.ema_decay 0.997 \
    --slim.attention true --slim.gate_steps "$GATE_STEPS" --slim.gate_lr 0.05 \
    --log.progress lines --log.metrics "$base.jsonl" --checkpoint.dir "$base-ck" --checkpoint.at_end true \
    >"$base.out" 2>"$base.err" || { echo "seed $seed failed:"; tail -5 "$base.err"; exit 1; }
  grep '^slimmable' "$base.out" | sed 's/^/   /' || true
  mpirun -np "$NP" "$BIN" eval --checkpoint "$base-ck" --width dynamic --gate_confidence "$CONFIDENCES" \
    --runtime.threads 1 >"$base-confidence.out" 2>"$base-confidence.err" \
    || { echo "eval of seed $seed failed:"; tail -5 "$base-confidence.err"; exit 1; }
  tail -n 1 "$base-confidence.out" >"$base-confidence.json"
  echo "   $((SECONDS - t0)) s"
done
timing=$(results_cpu_line slimmable_family_results)
echo "$timing"
/usr/bin/python3 "$ROOT/launch/scripts/slimmable_family_results.py" "$OUT" --family "$FAMILY" --steps "$STEPS" --gate-steps "$GATE_STEPS"
printf '\nMeasured (%s ranks): %s.\n' "$NP" "${timing#*: }" >>"$OUT/results.md"
echo "slimmable_family_results: wrote $OUT/results.md and $OUT/slimmable-$FAMILY.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/slimmable-$FAMILY.md"
  cp "$OUT/slimmable-$FAMILY.png" "$ROOT/launch/results/slimmable-$FAMILY.png"
  echo "slimmable_family_results: published to launch/results/slimmable-$FAMILY.{md,png}"
fi
