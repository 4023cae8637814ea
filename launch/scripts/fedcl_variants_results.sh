#!/usr/bin/env bash
# Reproduces merge/README.md "Results: selection variants": the survey's ablation of how
# MagMax chooses — average, task-specific (oracle), random, magnitude (magmax), soft magnitude
# (soft_magmax) — in sprout's federated continual-learning setting: Fashion-MNIST, 5
# class-incremental tasks, launch/configs/fedcl.ini, 2 node groups of one rank, 3 seeds, with
# independent experts (init=base) and MagMax's sequential fine-tuning (init=sequential); then
# soft MagMax's temperature swept (init=base). About 10 min on 2 shared cores.
#   launch/scripts/fedcl_variants_results.sh [OUT_DIR]  (default build/fedcl-variants; SEEDS="0 1 2")
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
OUT=${1:-$ROOT/build/fedcl-variants}
SEEDS=${SEEDS:-0 1 2}
TEMPERATURES=${TEMPERATURES:-0.0003 0.001 0.003 0.03}
source "$ROOT/launch/scripts/results_lib.sh"
mkdir -p "$OUT"
results_setup fedcl_variants_results "$BIN"

run() {  # run NAME ARGS...
  local name=$1; shift
  for seed in $SEEDS; do
    echo "== $name seed $seed"
    mpirun -np 2 --oversubscribe "$BIN" fedcl --config "$ROOT/launch/configs/fedcl.ini" --fedcl.nodes 2 \
      --fedcl.baselines false --train.seed "$seed" --fedcl.report "$OUT/$name-s$seed" "$@" >"$OUT/$name-s$seed.log" 2>&1
    grep -E "^round" "$OUT/$name-s$seed.log" | tail -1
  done
}
METHODS=average,task_specific,random,magmax,soft_magmax
run base --fedcl.init base --fedcl.methods $METHODS
run sequential --fedcl.init sequential --fedcl.methods $METHODS
for t in $TEMPERATURES; do
  run "soft$t" --fedcl.init base --fedcl.methods soft_magmax --fedcl.soft_magmax_temperature "$t"
done

/usr/bin/python3 - "$OUT" $TEMPERATURES <<'PYEOF' | tee "$OUT/fedcl-variants.md"
import glob, json, statistics, sys
out, temperatures = sys.argv[1], sys.argv[2:]
def cell(files, m, key):
    v = [json.load(open(f))["summary"][m][key] for f in files]
    v = [x for x in v if x is not None]
    if not v: return "–"
    return f"{100 * statistics.mean(v):.1f} ± {100 * (statistics.stdev(v) if len(v) > 1 else 0):.1f}"
rows = [("average", "average of all weights"), ("task_specific", "task-specific (oracle: the task's own expert)"),
        ("random", "random selection"), ("magmax", "magnitude (MagMax)"), ("soft_magmax", "soft magnitude, T = 0.01")]
print("| selection | init=base: final avg acc | forgetting | init=sequential: final avg acc | forgetting |")
print("|---|---:|---:|---:|---:|")
for m, label in rows:
    cells = []
    for setting in ("base", "sequential"):
        files = sorted(glob.glob(f"{out}/{setting}-s*.json"))
        cells += [cell(files, m, "final_average_accuracy"), cell(files, m, "forgetting")]
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
sweep = [(t, f"{out}/soft{t}-s*.json") for t in temperatures] + [("0.01", f"{out}/base-s*.json")]
sweep.sort(key=lambda x: float(x[0]))
print("| soft_magmax T (init=base) | " + " | ".join(t for t, _ in sweep) + " |")
print("|---|" + "---:|" * len(sweep))
print("| final avg acc | " + " | ".join(cell(sorted(glob.glob(g)), "soft_magmax", "final_average_accuracy") for _, g in sweep) + " |")
PYEOF
