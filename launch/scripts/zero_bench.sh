#!/usr/bin/env bash
# Sharded optimizer state and gradients (optim.shard = state | gradients, ZeRO stages 1
# and 2) measured, side by side in one run.
#
# Memory: AdamW on the MLP 784-H-H-10 (H = 6656: 49.6M parameters), per-rank batch B, on
# each world size of WORLDS: `sprout bench train --optim adamw --shard none|state|gradients` and the
# PyTorch reference (launch/scripts/ddp_reference.py: DDP, and DDP + ZeroRedundancyOptimizer,
# gloo); optimizer state per rank (rank 0's) and peak resident memory per rank (the largest).
# Throughput: 2 ranks, the same five, interleaved (the order rotates every round), REPS
# rounds, median samples/s. Prints a markdown report (also $OUT/report.md).
#
# usage: launch/scripts/zero_bench.sh [--hidden 6656] [--batch 32] [--steps 6] [--reps 3]
#            [--worlds "1 2 4"] [--out DIR]
# SPROUT_BIN (or SPROUT_BUILD_DIR) picks the binary. Every core should be idle: the load
# average is recorded with the report.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SPROUT=${SPROUT_BIN:-${SPROUT_BUILD_DIR:-$ROOT/build}/launch/sprout}
PY=/usr/bin/python3
REFERENCE=$ROOT/launch/scripts/ddp_reference.py
HIDDEN=6656 BATCH=32 STEPS=6 REPS=3 WORLDS="1 2 4" OUT=""
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --hidden) HIDDEN=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --worlds) WORLDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "zero_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for v in HIDDEN BATCH STEPS REPS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "zero_bench.sh: --${v,,}: '${!v}' is not a positive integer" >&2; exit 2; }
done
[[ -x $SPROUT ]] || { echo "zero_bench.sh: no sprout binary at $SPROUT (build first)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/zero-bench-XXXXXX")}
mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
COMMON=(--model mlp --hidden "$HIDDEN" --batch "$BATCH" --steps "$STEPS" --warmup 1 --threads 1 --optim adamw)

# run IMPL WORLD: one line "samples_per_s peak_rss_mb state_mb" for impl sprout-none|state|gradients, ddp, ddp-zero
run() {
  local line
  case $1 in
    sprout-*) line=$(mpirun -np "$2" --oversubscribe "$SPROUT" bench train "${COMMON[@]}" --shard "${1#sprout-}" | tail -n 1) ;;
    ddp) line=$($PY "$REFERENCE" --world "$2" "${COMMON[@]}" | tail -n 1) ;;
    ddp-zero) line=$($PY "$REFERENCE" --world "$2" "${COMMON[@]}" --zero | tail -n 1) ;;
  esac
  echo "$1 $2 $line" >>"$OUT/raw.txt"
  [[ $line =~ samples_per_s=([0-9.]+) ]] && local sps=${BASH_REMATCH[1]}
  [[ $line =~ peak_rss_mb=([0-9.]+) ]] && local rss=${BASH_REMATCH[1]}
  [[ $line =~ state_mb=([0-9.]+) ]] && local state=${BASH_REMATCH[1]}
  echo "${sps:?no samples_per_s in: $line} ${rss:?} ${state:?}"
}

load_start=$(cut -d' ' -f1 /proc/loadavg)
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc --all) cores, 1 intra-op thread per rank; load average (1 min) at the start: $load_start."
  echo
  echo "Memory, AdamW, MLP 784-$HIDDEN-$HIDDEN-10, batch $BATCH per rank, $STEPS steps (ranks beyond the cores oversubscribed):"
  echo
  echo "| ranks | run | optimizer state MiB/rank | vs unsharded | peak RSS MiB/rank | vs unsharded |"
  echo "|---|---|---|---|---|---|"
} >"$OUT/report.md"
for world in $WORLDS; do
  read -r _ base_rss base_state < <(run sprout-none "$world")
  read -r _ rss state < <(run sprout-state "$world")
  read -r _ rss2 state2 < <(run sprout-gradients "$world")
  read -r _ ddp_rss ddp_state < <(run ddp "$world")
  read -r _ zero_rss zero_state < <(run ddp-zero "$world")
  ratio() { $PY -c "print(f'{$1 / $2:.3f}')"; }
  {
    echo "| $world | sprout optim.shard=none | $base_state | 1 | $base_rss | 1 |"
    echo "| $world | sprout optim.shard=state | $state | $(ratio "$state" "$base_state") | $rss | $(ratio "$rss" "$base_rss") |"
    echo "| $world | sprout optim.shard=gradients | $state2 | $(ratio "$state2" "$base_state") | $rss2 | $(ratio "$rss2" "$base_rss") |"
    echo "| $world | PyTorch DDP | $ddp_state | 1 | $ddp_rss | 1 |"
    echo "| $world | PyTorch DDP + ZeroRedundancyOptimizer | $zero_state | $(ratio "$zero_state" "$ddp_state") | $zero_rss | $(ratio "$zero_rss" "$ddp_rss") |"
  } >>"$OUT/report.md"
done

IMPLS=(sprout-none sprout-state sprout-gradients ddp ddp-zero)
: >"$OUT/throughput.tsv"
for ((round = 0; round < REPS; ++round)); do
  for ((k = 0; k < ${#IMPLS[@]}; ++k)); do
    impl=${IMPLS[$(((k + round) % ${#IMPLS[@]}))]}
    read -r sps _ < <(run "$impl" 2)
    echo -e "$impl\t$sps" >>"$OUT/throughput.tsv"
  done
done
$PY - "$OUT/throughput.tsv" "$REPS" >>"$OUT/report.md" <<'PYEOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
med = {k: statistics.median(float(v) for i, v in rows if i == k) for k in dict(rows)}
names = {"sprout-none": "sprout optim.shard=none", "sprout-state": "sprout optim.shard=state",
         "sprout-gradients": "sprout optim.shard=gradients",
         "ddp": "PyTorch DDP", "ddp-zero": "PyTorch DDP + ZeroRedundancyOptimizer"}
print(f"\nThroughput, 2 ranks, median of {sys.argv[2]} interleaved rounds:\n")
print("| run | samples/s | vs sprout unsharded | vs DDP + ZeRO |")
print("|---|---|---|---|")
for k in ["sprout-none", "sprout-state", "sprout-gradients", "ddp", "ddp-zero"]:
    print(f"| {names[k]} | {med[k]:,.0f} | {med[k] / med['sprout-none']:.2f} | {med[k] / med['ddp-zero']:.2f} |")
PYEOF
echo "load average (1 min) at the end: $(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/report.md"
cat "$OUT/report.md"
