#!/usr/bin/env bash
# Depth growth: the function change and the time of one block insertion, per family and
# strategy (growth/README.md "Growing in depth").
#
#   launch/scripts/depth_results.sh [OUT_DIR]        (default: build/depth-results)
#
# For resnet (ResNet-10, stages 16-32-64) and vit (dim 64, 4 heads, depth 4, MLP 128), and
# each depth strategy, and for a batch-normed mlp (256-256) and cnn (c32-c64, 256-256) with
# net2net's identity layer, trains on Fashion-MNIST with NP ranks (default 2) for 40 steps
# with one event "20:<place>:+1block" ("+1layer") and reads the event's metrics object: function_change
# (max |Δ logit| / max |logit| on the growth batch, eval mode), seconds (the surgery, max
# over ranks), grad_norm (the zero-started layers' gradient norm right after). Writes
# OUT_DIR/results.md. About 2 minutes on 2 cores. Environment: NP, SPROUT_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build/depth-results}
NP=${NP:-2}
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
[[ -x $BIN ]] || "$ROOT/launch/scripts/setup.sh"
mkdir -p "$OUT/runs"

COMMON=(--data.name fashion-mnist --train.steps 40 --train.batch 64 --log.progress none)
{
  echo "| family | place | strategy | function change | surgery (s) | zero-started gradient norm |"
  echo "|---|---|---|---:|---:|---:|"
  for family in resnet vit mlp cnn; do
    STRATEGIES=(random zeros gradmax vt); UNIT=block
    case $family in
      resnet) M=(--model.kind resnet); PLACE=stage2 ;;
      vit) M=(--model.kind vit); PLACE=blocks ;;
      mlp) M=(--model.kind mlp --model.batch_norm true); PLACE=fc1; STRATEGIES=(net2net); UNIT=layer ;;
      cnn) M=(--model.kind cnn --model.batch_norm true); PLACE=conv1; STRATEGIES=(net2net); UNIT=layer ;;
    esac
    for strategy in "${STRATEGIES[@]}"; do
      metrics="$OUT/runs/$family-$strategy.jsonl"
      rm -f "$metrics"
      mpirun -np "$NP" "$BIN" train "${COMMON[@]}" "${M[@]}" --growth.strategy "$strategy" \
        --growth.event "20:$PLACE:+1$UNIT" --log.metrics "$metrics" >"$OUT/runs/$family-$strategy.out"
      /usr/bin/python3 - "$metrics" "$family" "$PLACE" "$strategy" <<'PYEOF'
import json, sys
path, family, place, strategy = sys.argv[1:]
for line in open(path):
    j = json.loads(line)
    if j.get("event") == "growth" and j.get("site", "").startswith("depth:"):
        print(f"| {family} | {place} | {strategy} | {j['function_change']:.1e} | {j['seconds']:.3f} | {j['grad_norm']:.3g} |")
PYEOF
    done
  done
} | tee "$OUT/results.md"
