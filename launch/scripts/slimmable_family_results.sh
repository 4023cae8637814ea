#!/usr/bin/env bash
# A slimmable ResNet and its dynamic gate on the accuracy–MACs plane: Fashion-MNIST, 2 ranks,
# several seeds (the MLP and CNN tables are slimmable_results.sh).
#
#   launch/scripts/slimmable_resnet_results.sh [OUT_DIR]   (default: build/slimmable-resnet-results)
#
# For each seed in $SEEDS: a ResNet-10 at half width (stem 8, stages 8-16-32) trained as a DS-Net supernet
# (train.mode = slimmable: every block's inner width at 0.25, 0.5, 0.75 and 1 of its stage
# width, sandwich rule, in-place bootstrapping from the EMA teacher) for STEPS steps, then its
# dynamic gate for GATE_STEPS steps (supernet frozen). The run evaluates every static width
# and the gate's argmax on the 10,000 test images; `sprout eval --gate_confidence` then
# routes by the gate's cumulative probability at $CONFIDENCES on the final checkpoint.
# slimmable_resnet_results.py writes OUT_DIR/results.md (per width: accuracy mean ± std and
# MACs; the gate's accuracy minus the static widths' interpolated at the same MACs, per
# seed) and OUT_DIR/slimmable-resnet.png (the accuracy–MACs plane).
#
# Environment: SEEDS ("0 1 2"), STEPS (600; or EPOCHS: that many passes over the 60,000
# training images), GATE_STEPS (200), NP (2), CONFIDENCES (0.6,0.8,0.9,0.95), SPROUT_BIN;
# PUBLISH=1 copies the table and the plot to launch/results/ (growth/README.md shows them).
# About 8 minutes on 2 quiet cores with the defaults.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/slimmable-resnet-results}
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
results_setup slimmable_resnet_results "$BIN"
mkdir -p "$OUT"

for seed in $SEEDS; do
  base="$OUT/seed$seed"
  echo "== slimmable resnet seed $seed"
  t0=$SECONDS
  rm -rf "$base-ck"
  mpirun -np "$NP" "$BIN" train --data.name fashion-mnist --model.kind resnet --model.depth 10 --model.stem 8 --model.stages 8,16,32 \
    --optim.name sgd --optim.lr 0.05 --optim.momentum 0.9 --optim.weight_decay 0.0005 --optim.schedule cosine \
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
timing=$(results_cpu_line slimmable_resnet_results)
echo "$timing"
/usr/bin/python3 "$ROOT/launch/scripts/slimmable_resnet_results.py" "$OUT" --steps "$STEPS" --gate-steps "$GATE_STEPS"
printf '\nMeasured (%s ranks): %s.\n' "$NP" "${timing#*: }" >>"$OUT/results.md"
echo "slimmable_resnet_results: wrote $OUT/results.md and $OUT/slimmable-resnet.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/slimmable-resnet.md"
  cp "$OUT/slimmable-resnet.png" "$ROOT/launch/results/slimmable-resnet.png"
  echo "slimmable_resnet_results: published to launch/results/slimmable-resnet.{md,png}"
fi
