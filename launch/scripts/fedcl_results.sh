#!/usr/bin/env bash
# Reproduces merge/README.md "Results: Fashion-MNIST, 5 tasks": Fashion-MNIST, 5 class-incremental
# tasks, launch/configs/fedcl.ini, one rank per node group, 3 seeds, in the settings
#   2 node groups, init=base       (independent experts from θ0)
#   5 node groups, init=base       (every task in one round)
#   2 node groups, init=sequential (MagMax's sequential fine-tuning, per group)
#   2 node groups, init=sequential, frozen head (closest to the paper: heads stay θ0's)
#   2 node groups, init=base, no warm-up (θ0 is the random initialisation)
# then tabulates (mean ± std) and plots them with launch/scripts/fedcl_plot.py, and sweeps λ
# (2 groups, init=base) for magmax, task_arithmetic and ties. 12–18 min on 2 shared cores.
#   launch/scripts/fedcl_results.sh [OUT_DIR]     (default build/fedcl-results; SEEDS="0 1 2")
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
OUT=${1:-$ROOT/build/fedcl-results}
SEEDS=${SEEDS:-0 1 2}
source "$ROOT/launch/scripts/results_lib.sh"
mkdir -p "$OUT"
results_setup fedcl_results "$BIN"

run() {  # run NAME NODES ARGS...
  local name=$1 nodes=$2; shift 2
  for seed in $SEEDS; do
    echo "== $name seed $seed"
    mpirun -np "$nodes" --oversubscribe "$BIN" fedcl --config "$ROOT/launch/configs/fedcl.ini" \
      --fedcl.nodes "$nodes" --train.seed "$seed" --fedcl.report "$OUT/$name-s$seed" "$@" >"$OUT/$name-s$seed.log" 2>&1
    grep -E "^round" "$OUT/$name-s$seed.log" | tail -1
  done
}
run n2-base 2 --fedcl.init base
run n5-base 5 --fedcl.init base
run n2-sequential 2 --fedcl.init sequential
run n2-sequential-frozen 2 --fedcl.init sequential --fedcl.freeze_head true
run n2-base-nowarmup 2 --fedcl.init base --fedcl.warmup_steps 0
LAMBDAS=${LAMBDAS:-0.1 0.2 0.3 0.5 1.0}
for l in $LAMBDAS; do
  run "lambda$l" 2 --fedcl.baselines false --fedcl.methods magmax,task_arithmetic,ties \
    --fedcl.lambda "magmax=$l,task_arithmetic=$l,ties=$l"
done

/usr/bin/python3 "$ROOT/launch/scripts/fedcl_plot.py" "$OUT"/n2-base-s*.json "$OUT"/n5-base-s*.json \
  --png "$OUT/fedcl-base.png" --table "$OUT/fedcl-base.md"
/usr/bin/python3 "$ROOT/launch/scripts/fedcl_plot.py" "$OUT"/n2-sequential-s*.json "$OUT"/n2-sequential-frozen-s*.json \
  "$OUT"/n2-base-nowarmup-s*.json --png "$OUT/fedcl-other.png" --table "$OUT/fedcl-other.md"
# λ sweep: final average accuracy, mean ± std over seeds.
/usr/bin/python3 - "$OUT" $LAMBDAS <<'PYEOF' | tee "$OUT/fedcl-lambda.md"
import glob, json, statistics, sys
out, lambdas = sys.argv[1], sys.argv[2:]
print("| method | " + " | ".join(f"λ = {l}" for l in lambdas) + " |")
print("|---|" + "---:|" * len(lambdas))
for m in ["magmax", "task_arithmetic", "ties"]:
    cells = []
    for l in lambdas:
        v = [json.load(open(f))["summary"][m]["final_average_accuracy"] for f in sorted(glob.glob(f"{out}/lambda{l}-s*.json"))]
        cells.append(f"{100 * statistics.mean(v):.1f} ± {100 * (statistics.stdev(v) if len(v) > 1 else 0):.1f}")
    print(f"| {m} | " + " | ".join(cells) + " |")
PYEOF
