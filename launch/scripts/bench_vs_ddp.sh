#!/usr/bin/env bash
# sprout vs PyTorch DDP, side by side in one run.
#
# For MLP 784-1024-1024-10 and the CNN (conv 32, conv 64, 1024, 10), per-rank batch 256 and
# 32, on 1, 2 and 4 ranks, runs `sprout bench train` and the PyTorch DDP reference
# (launch/scripts/ddp_reference.py, gloo, Debian's python3-torch) with the same flags, interleaved
# (sprout and DDP alternate, the order flips every round), REPS rounds; reports the
# median samples/s. Then the allreduce sweep and the growth-step benchmark on 2 ranks.
# Writes a markdown report (stdout and $OUT/report.md) and, with --readme FILE, puts it
# between the markers <!-- bench_vs_ddp:begin --> and <!-- bench_vs_ddp:end --> of FILE.
#
# --models also takes resnet and vit (sprout's defaults of those families, the same
# architectures in the DDP reference).
# usage: launch/scripts/bench_vs_ddp.sh [--reps 5] [--worlds "1 2 4"] [--models "mlp cnn"]
#            [--batches "256 32"] [--steps N] [--readme runtime/README.md] [--out DIR] [--nice N]
#            [--baseline BIN]
# --baseline BIN measures a second sprout binary (e.g. one built from an earlier commit) in
# the same interleaved rounds, with its own columns: a change's speed-up side by side.
# --steps N overrides the timed steps of every run (default: a few seconds of steady state
# each); a quick smoke round: --reps 1 --worlds "1 2" --models mlp --batches 256 --steps 20.
# SPROUT_BIN (or SPROUT_BUILD_DIR) picks the binary, SPROUT_DDP_REFERENCE the DDP script.
# Every core should be idle: the load average is recorded with each run. On a shared
# machine, --nice -10 runs the whole comparison (sprout and DDP alike: one session, one
# scheduler autogroup) ahead of other users' work, so both are measured on cores that are
# mostly theirs (needs root or CAP_SYS_NICE).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SPROUT=${SPROUT_BIN:-${SPROUT_BUILD_DIR:-$ROOT/build}/launch/sprout}
PY=/usr/bin/python3
REFERENCE=${SPROUT_DDP_REFERENCE:-$ROOT/launch/scripts/ddp_reference.py}
ARGS=("$@")
REPS=5 WORLDS="1 2 4" MODELS="mlp cnn" BATCHES="256 32" README="" OUT="" NICE="" STEPS="" BASELINE=""
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --steps) STEPS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --worlds) WORLDS=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --batches) BATCHES=$2; shift 2 ;;
    --readme) README=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --nice) NICE=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    *) echo "bench_vs_ddp.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -x $SPROUT ]] || { echo "bench_vs_ddp.sh: no sprout binary at $SPROUT (build first)" >&2; exit 2; }
[[ -z $BASELINE || -x $BASELINE ]] || { echo "bench_vs_ddp.sh: --baseline: no executable at '$BASELINE'" >&2; exit 2; }
[[ -f $REFERENCE ]] || { echo "bench_vs_ddp.sh: no DDP reference script at '$REFERENCE'" >&2; exit 2; }
[[ -z $STEPS || $STEPS =~ ^[1-9][0-9]*$ ]] || { echo "bench_vs_ddp.sh: --steps: '$STEPS' is not a positive integer" >&2; exit 2; }
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "bench_vs_ddp.sh: --reps: '$REPS' is not a positive integer" >&2; exit 2; }
if [[ -n $NICE ]]; then
  # Linux shares CPU time between sessions (autogroups) first: give this run its own.
  [[ $(ps -o sid= -p $$ | tr -d ' ') == "$$" ]] || exec setsid "$0" "${ARGS[@]}"
  echo "$NICE" >/proc/self/autogroup || { echo "bench_vs_ddp.sh: cannot set autogroup nice $NICE" >&2; exit 2; }
fi
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-ddp-XXXXXX")}
mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
RESULTS=$OUT/results.tsv   # impl model batch world round samples_per_s step_ms load1
: >"$RESULTS"

# Steps per run: a few seconds of steady state each (the CNN step is ~4× the MLP's).
steps_for() {  # model batch
  [[ -n $STEPS ]] && { echo "$STEPS"; return; }
  case $1/$2 in
    mlp/256) echo 100 ;; mlp/*) echo 300 ;; cnn/256) echo 25 ;; resnet/*|vit/*) echo 30 ;; *) echo 100 ;;
  esac
}
load1() { cut -d' ' -f1 /proc/loadavg; }
PORT=29650
run_one() {  # impl model batch world round
  local impl=$1 model=$2 batch=$3 world=$4 round=$5 steps line load
  steps=$(steps_for "$model" "$batch")
  load=$(load1)
  if [[ $impl == sprout || $impl == baseline ]]; then
    local bin=$SPROUT
    [[ $impl == baseline ]] && bin=$BASELINE
    line=$(timeout 900 mpirun -np "$world" --oversubscribe --bind-to none "$bin" bench train --model "$model" \
             --hidden 1024 --batch "$batch" --steps "$steps" --warmup 10 --threads 1 2>>"$OUT/stderr" | grep '^sprout ' || true)
  else
    PORT=$((PORT + 1))
    line=$(timeout 900 "$PY" "$REFERENCE" --world "$world" --model "$model" --hidden 1024 --batch "$batch" \
             --steps "$steps" --warmup 10 --threads 1 --port "$PORT" 2>>"$OUT/stderr" | grep '^torch-ddp ' || true)
  fi
  local sps=NaN ms=NaN
  [[ $line =~ samples_per_s=([0-9.]+) ]] && sps=${BASH_REMATCH[1]}
  [[ $line =~ step_ms=([0-9.]+) ]] && ms=${BASH_REMATCH[1]}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$impl" "$model" "$batch" "$world" "$round" "$sps" "$ms" "$load" >>"$RESULTS"
  echo "round $round  $impl $model B=$batch world=$world  samples/s=$sps  (load $load)" >&2
}

for ((round = 1; round <= REPS; round++)); do
  for model in $MODELS; do
    for batch in $BATCHES; do
      for world in $WORLDS; do
        order="sprout ddp${BASELINE:+ baseline}"
        ((round % 2)) || order=$(echo "$order" | tr ' ' '\n' | tac | tr '\n' ' ')
        for impl in $order; do run_one "$impl" "$model" "$batch" "$world" "$round"; done
      done
    done
  done
done

echo "allreduce sweep (2 ranks)..." >&2
mpirun -np 2 --bind-to none "$SPROUT" bench allreduce --reps "$REPS" >"$OUT/allreduce.txt" 2>>"$OUT/stderr"
echo "growth step (2 ranks)..." >&2
for model in $MODELS; do
  [[ $model == mlp || $model == cnn ]] || continue  # bench grow knows the MLP and CNN sites
  mpirun -np 2 --bind-to none "$SPROUT" bench grow --model "$model" --hidden 1024 --batch 256 --threads 1 \
    --steps 12 --warmup 5 --events 5 2>>"$OUT/stderr" | grep '^sprout-grow' >>"$OUT/grow.txt" || true
done

"$PY" - "$OUT" "$RESULTS" "$REPS" "$(cat /proc/self/autogroup 2>/dev/null)" <<'PYEOF' >"$OUT/report.md"
import csv, statistics as st, sys, subprocess, platform, os
out, path, reps, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = [r for r in csv.reader(open(path), delimiter="\t")]
med, loads = {}, []
for impl, model, batch, world, rnd, sps, ms, load in rows:
    med.setdefault((impl, model, int(batch), int(world)), []).append(float(sps))
    loads.append(float(load))
def m(k):
    v = [x for x in med.get(k, []) if x == x]
    return st.median(v) if v else float("nan")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Measured {subprocess.run(['date', '-u', '+%Y-%m-%d %H:%M UTC'], capture_output=True, text=True).stdout.strip()} "
      f"on {os.cpu_count()} cores ({cpu}); median of {reps} interleaved rounds; 1 intra-op thread per rank "
      f"for both; load average (1 min) at the start of the runs: {min(loads):.1f}–{max(loads):.1f}"
      f"{'; scheduler ' + group.split()[-2] + ' ' + group.split()[-1] if 'nice' in group and not group.endswith(' 0') else ''}.\n")
base = any(k[0] == "baseline" for k in med)
print("| model | batch/rank | ranks | DDP samples/s | sprout samples/s | sprout/DDP |"
      + (" baseline samples/s | baseline/DDP | sprout/baseline |" if base else "") + " DDP scaling | sprout scaling |")
print("|---|---|---|---|---|---|" + ("---|---|---|" if base else "") + "---|---|")
order = ["mlp", "cnn", "resnet", "vit"]
keys = sorted({k[1:] for k in med}, key=lambda k: (order.index(k[0]) if k[0] in order else 9, -k[1], k[2]))
for model, batch, world in keys:
    d, s = m(("ddp", model, batch, world)), m(("sprout", model, batch, world))
    d1, s1 = m(("ddp", model, batch, 1)), m(("sprout", model, batch, 1))
    sc = lambda x, x1: f"{100 * x / (world * x1):.0f}%" if world > 1 and x1 == x1 and x == x else "–"
    name = {"mlp": "MLP 784-1024-1024-10", "cnn": "CNN c32-c64-1024", "resnet": "ResNet-10-1 (pre-activation)",
            "vit": "ViT 7x7 patches, dim 64, 4 heads, depth 4"}.get(model, model)
    b = m(("baseline", model, batch, world))
    extra = f" {b:,.0f} | {b / d:.2f} | {s / b:.2f} |" if base else ""
    print(f"| {name} | {batch} | {world} | {d:,.0f} | {s:,.0f} | **{s / d:.2f}** |{extra} {sc(d, d1)} | {sc(s, s1)} |")
print("\nScaling = samples/s ÷ (ranks × one-rank samples/s). Raw runs: `results.tsv` in the output folder.\n")
print("Allreduce sweep, 2 ranks (`mpirun -np 2 sprout bench allreduce`):\n\n```")
print(open(os.path.join(out, "allreduce.txt")).read().rstrip())
print("```\n\nStep right after a growth event, 2 ranks, B=256 (`sprout bench grow`):\n\n```")
grow = os.path.join(out, "grow.txt")
print(open(grow).read().rstrip() if os.path.exists(grow) else "(not run)")
print("```")
PYEOF
cat "$OUT/report.md"
if [[ -n $README ]]; then
  "$PY" - "$README" "$OUT/report.md" <<'PYEOF'
import sys, re
readme, report = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
b, e = "<!-- bench_vs_ddp:begin -->", "<!-- bench_vs_ddp:end -->"
if b not in text or e not in text:
    sys.exit(f"bench_vs_ddp.sh: markers {b} / {e} not found in {readme}")
head, rest = text.split(b, 1)
open(readme, "w").write(head + b + "\n" + report + "\n" + e + rest.split(e, 1)[1])
print(f"updated {readme}", file=sys.stderr)
PYEOF
fi
echo "output in $OUT" >&2
