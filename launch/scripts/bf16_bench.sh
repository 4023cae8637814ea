#!/usr/bin/env bash
# runtime.precision = bf16 vs fp32, side by side in one run: the quickstart MLP
# (launch/configs/quickstart.ini: 784-512-256-10, SGD, batch 64 per rank) and the CNN
# (conv 32, conv 64, 256, 10, same optimizer) on Fashion-MNIST, 2 ranks, EPOCHS epochs each,
# fp32 and bf16 alternating (the order flips every round), REPS rounds. Reports the median
# training samples/s and the final test accuracy of each. Prints a markdown table (also
# $OUT/report.md).
#
# usage: launch/scripts/bf16_bench.sh [--epochs 1] [--reps 1] [--out DIR]
# SPROUT_BIN (or SPROUT_BUILD_DIR) picks the binary.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SPROUT=${SPROUT_BIN:-${SPROUT_BUILD_DIR:-$ROOT/build}/launch/sprout}
PY=/usr/bin/python3
EPOCHS=1 REPS=1 OUT=""
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "bf16_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "bf16_bench.sh: --reps: '$REPS' is not a positive integer" >&2; exit 2; }
[[ $EPOCHS =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "bf16_bench.sh: --epochs: '$EPOCHS' is not a positive number" >&2; exit 2; }
[[ -x $SPROUT ]] || { echo "bf16_bench.sh: no sprout binary at $SPROUT (build first)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bf16-bench-XXXXXX")}
mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
declare -A MODEL=([mlp]="--model.kind mlp --model.widths 512,256" [cnn]="--model.kind cnn --model.conv 32,64 --model.widths 256")
: >"$OUT/runs.tsv"
load_start=$(cut -d' ' -f1 /proc/loadavg)
for ((round = 0; round < REPS; ++round)); do
  for model in mlp cnn; do
    order=(fp32 bf16); ((round % 2)) && order=(bf16 fp32)
    for precision in "${order[@]}"; do
      line=$(cd "$ROOT" && mpirun -np 2 --oversubscribe "$SPROUT" train --config launch/configs/quickstart.ini ${MODEL[$model]} \
        --train.epochs "$EPOCHS" --train.eval_every 0 --runtime.precision "$precision" --log.progress none | tail -n 1)
      $PY -c "import json,sys; j=json.loads(sys.argv[1]); print(sys.argv[2], sys.argv[3], j['samples_per_s'], j['test_accuracy'], sep='\t')" \
        "$line" "$model" "$precision" >>"$OUT/runs.tsv"
    done
  done
done
$PY - "$OUT/runs.tsv" "$EPOCHS" "$REPS" "$load_start" "$(cut -d' ' -f1 /proc/loadavg)" >"$OUT/report.md" <<'PYEOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print(f"2 ranks, Fashion-MNIST, {sys.argv[2]} epoch(s) per run, median of {sys.argv[3]} round(s); "
      f"load average (1 min) {sys.argv[4]} at the start, {sys.argv[5]} at the end.\n")
print("| model | fp32 samples/s | bf16 samples/s | bf16/fp32 | fp32 test accuracy | bf16 test accuracy |")
print("|---|---|---|---|---|---|")
names = {"mlp": "MLP 784-512-256-10 (quickstart)", "cnn": "CNN c32-c64-256"}
for m in ("mlp", "cnn"):
    med = lambda p, k: statistics.median(float(r[k]) for r in rows if r[0] == m and r[1] == p)
    f, b = med("fp32", 2), med("bf16", 2)
    print(f"| {names[m]} | {f:,.0f} | {b:,.0f} | {b / f:.2f} | {med('fp32', 3):.4f} | {med('bf16', 3):.4f} |")
PYEOF
cat "$OUT/report.md"
