#!/usr/bin/env bash
# Adaptive width on Fashion-MNIST, 2 ranks: the widths the network learns per layer from
# two starting widths, its accuracy against a fixed-width network of the learned size, and
# its truncation curve (growth/README.md "Adaptive width").
#
#   launch/scripts/adaptive_results.sh [OUT_DIR]        (default: build/adaptive-results)
#
# For each seed in $SEEDS (default "0 1 2"):
#   mlp-64   launch/configs/adaptive_mlp.ini starting at 784-64-64-10
#   mlp-256  the same starting at 784-256-256-10
#   fixed-64 / fixed-256  a plain MLP (model.adaptive = false) at the widths mlp-64 / mlp-256
#            ended with, same optimizer, schedule and epochs
# and, once (seed 0), cnn (launch/configs/adaptive_cnn.ini) and fixed-cnn at its learned
# widths. Every adaptive run's final checkpoint is then cut with `sprout eval --truncate all`.
# Writes OUT_DIR/results.md and OUT_DIR/adaptive-truncation.png via launch/scripts/adaptive_results.py.
# Environment: SEEDS, EPOCHS (MLP, default 20), CNN_EPOCHS (default 3; 0 skips the CNN),
# NP (default 2), SPROUT_BIN; PUBLISH=1 copies both to launch/results/ (what growth/README.md shows).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/adaptive-results}
SEEDS=${SEEDS:-"0 1 2"}
EPOCHS=${EPOCHS:-20}
CNN_EPOCHS=${CNN_EPOCHS:-3}
NP=${NP:-2}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
results_setup adaptive_results "$BIN"
mkdir -p "$OUT/runs"
MLP=(--config "$ROOT/launch/configs/adaptive_mlp.ini" --train.epochs "$EPOCHS")
CNN=(--config "$ROOT/launch/configs/adaptive_cnn.ini" --train.epochs "$CNN_EPOCHS")

run() {  # run NAME SEED ARGS...: one training run; its summary in runs/NAME-seedS.json
  local name=$1 seed=$2; shift 2
  local base="$OUT/runs/$name-seed$seed"
  echo "== $name seed $seed"
  rm -rf "$base.ck"
  mpirun -np "$NP" "$BIN" train "$@" --train.seed "$seed" --log.progress lines --log.metrics "$base.jsonl" \
    --checkpoint.dir "$base.ck" --checkpoint.at_end true >"$base.out" 2>"$base.err" \
    || { echo "run $name seed $seed failed:"; tail -5 "$base.err"; exit 1; }
  tail -n 1 "$base.out" >"$base.json"
  grep -o '"test_accuracy":[0-9.]*\|"widths":{[^}]*}' "$base.json" | tr '\n' ' '; echo
}
# learned NAME SEED PREFIX: the final widths of the sites PREFIX1, PREFIX2, ... of a run, comma-separated.
learned() {
  /usr/bin/python3 -c "import json, re, sys; w = json.load(open(sys.argv[1]))['widths']; \
ks = sorted((k for k in w if re.fullmatch(sys.argv[2] + r'[0-9]+', k)), key=lambda k: int(k[len(sys.argv[2]):])); \
print(','.join(str(w[k]) for k in ks))" "$OUT/runs/$1-seed$2.json" "$3"
}
curve() {  # curve NAME SEED: the truncation curve of a run's final checkpoint
  local base="$OUT/runs/$1-seed$2"
  mpirun -np "$NP" "$BIN" eval --checkpoint "$base.ck" --truncate all >"$base.curve.out" 2>"$base.curve.err" \
    || { echo "eval $1 seed $2 failed:"; tail -5 "$base.curve.err"; exit 1; }
  tail -n 1 "$base.curve.out" >"$base.curve.json"
}

for seed in $SEEDS; do
  for start in 64 256; do
    run "mlp-$start" "$seed" "${MLP[@]}" --model.widths "$start,$start"
    curve "mlp-$start" "$seed"
    run "fixed-$start" "$seed" "${MLP[@]}" --model.adaptive false --model.widths "$(learned "mlp-$start" "$seed" fc)"
  done
done
if [[ $CNN_EPOCHS != 0 ]]; then
  run cnn 0 "${CNN[@]}"
  curve cnn 0
  run fixed-cnn 0 "${CNN[@]}" --model.adaptive false --model.conv "$(learned cnn 0 conv)" \
    --model.widths "$(learned cnn 0 fc)"
fi
/usr/bin/python3 "$ROOT/launch/scripts/adaptive_results.py" "$OUT"
echo "adaptive_results: wrote $OUT/results.md and $OUT/adaptive-truncation.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/results.md" "$ROOT/launch/results/adaptive.md"
  cp "$OUT/adaptive-truncation.png" "$ROOT/launch/results/adaptive-truncation.png"
  echo "adaptive_results: published to launch/results/adaptive{.md,-truncation.png}"
fi
