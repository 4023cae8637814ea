#!/usr/bin/env bash
# Merging task experts of a vision Transformer: does MagMax's ordering against its baselines
# hold on a ViT? Fashion-MNIST, 5 class-incremental tasks, 2 node groups of one rank
# (the MLP study is fedcl_results.sh; this is its "2 groups, init=base" setting on a ViT).
#
#   launch/scripts/fedcl_vit_results.sh [OUT_DIR [extra sprout fedcl options...]]
#   (default OUT_DIR: build/fedcl-vit-results; extra options go to every run, e.g. --fedcl.steps 20)
#
# launch/configs/fedcl.ini (200 warm-up steps on all classes, 200 steps per expert, batch
# 64, methods magmax, average, task_arithmetic, ties at their default λ, sequential and
# joint baselines) with its model replaced by a ViT (7×7 patches, width 64, 2 blocks,
# 4 heads, MLP 128) and AdamW (lr 0.001, cosine: SGD at the MLP's lr barely moves a ViT in
# 200 steps), for each seed in $SEEDS; then a λ sweep of magmax, task_arithmetic and ties
# (no baselines) for each λ in $LAMBDAS and seed in $SWEEP_SEEDS. fedcl_plot.py tabulates
# and plots the reports: OUT_DIR/fedcl-vit.md (with the sweep appended) and
# OUT_DIR/fedcl-vit.png.
#
# Environment: SEEDS ("0 1 2"), SWEEP_SEEDS ($SEEDS), LAMBDAS ("0.1 0.2 1.0"), NP (2: node
# groups, one rank each), SPROUT_BIN; PUBLISH=1 copies the table and the plot to
# launch/results/ (merge/README.md shows them). About 5 minutes on 2 quiet cores (measured with
# SWEEP_SEEDS=0 LAMBDAS="0.1 1.0": 19 minutes at load average 10–20, 5.5 CPU-minutes).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
OUT=${1:-$ROOT/build/fedcl-vit-results}
shift || true
EXTRA=("$@")
SEEDS=${SEEDS:-"0 1 2"}
SWEEP_SEEDS=${SWEEP_SEEDS:-$SEEDS}
LAMBDAS=${LAMBDAS:-"0.1 0.2 1.0"}
NP=${NP:-2}
source "$ROOT/launch/scripts/results_lib.sh"
mkdir -p "$OUT"
results_setup fedcl_vit_results "$BIN"

VIT=(--model.kind vit --model.depth 2 --model.dim 64 --model.heads 4 --model.patch 7 --model.mlp 128
     --optim.name adamw --optim.lr 0.001 --optim.weight_decay 0 --runtime.threads 1)

run() {  # run NAME SEED ARGS...
  local name=$1 seed=$2; shift 2
  local t0=$SECONDS
  echo "== $name seed $seed"
  mpirun -np "$NP" "$BIN" fedcl --config "$ROOT/launch/configs/fedcl.ini" "${VIT[@]}" --fedcl.nodes "$NP" \
    --fedcl.init base --train.seed "$seed" --fedcl.report "$OUT/$name-s$seed" "$@" ${EXTRA[@]+"${EXTRA[@]}"} >"$OUT/$name-s$seed.log" 2>&1 \
    || { echo "fedcl $name seed $seed failed:"; tail -5 "$OUT/$name-s$seed.log"; exit 1; }
  echo "   $(grep -E '^round' "$OUT/$name-s$seed.log" | tail -1)  ($((SECONDS - t0)) s)"
}

for seed in $SEEDS; do run vit-base "$seed"; done
for l in $LAMBDAS; do
  for seed in $SWEEP_SEEDS; do
    run "vit-lambda$l" "$seed" --fedcl.baselines false --fedcl.methods magmax,task_arithmetic,ties \
      --fedcl.lambda "magmax=$l,task_arithmetic=$l,ties=$l"
  done
done
timing=$(results_cpu_line fedcl_vit_results)
echo "$timing"

/usr/bin/python3 "$ROOT/launch/scripts/fedcl_plot.py" "$OUT"/vit-base-s*.json --png "$OUT/fedcl-vit.png" \
  --table "$OUT/fedcl-vit.md"
# λ sweep: final average accuracy and distance from θ0, mean ± std over seeds.
/usr/bin/python3 - "$OUT" $LAMBDAS <<'PYEOF' | tee -a "$OUT/fedcl-vit.md"
import glob, json, statistics, sys
out, lambdas = sys.argv[1], sys.argv[2:]

def pm(v):
    return f"{statistics.mean(v):.1f} ± {statistics.stdev(v) if len(v) > 1 else 0:.1f}"

print()
print("λ sweep (2 groups, init=base): final average accuracy (%) / ‖θ−θ0‖")
print()
print("| method | " + " | ".join(f"λ = {l}" for l in lambdas) + " |")
print("|---|" + "---:|" * len(lambdas))
for m in ["magmax", "task_arithmetic", "ties"]:
    cells = []
    for l in lambdas:
        reports = [json.load(open(f))["summary"][m] for f in sorted(glob.glob(f"{out}/vit-lambda{l}-s*.json"))]
        acc = [100 * r["final_average_accuracy"] for r in reports]
        dist = [r.get("distance_from_base", float("nan")) for r in reports]
        cells.append(f"{pm(acc)} / {statistics.mean(dist):.2f}")
    print(f"| {m} | " + " | ".join(cells) + " |")
PYEOF
printf '\nMeasured (%s ranks): %s.\n' "$NP" "${timing#*: }" >>"$OUT/fedcl-vit.md"
echo "fedcl_vit_results: wrote $OUT/fedcl-vit.md and $OUT/fedcl-vit.png"
if [[ ${PUBLISH:-0} == 1 ]]; then
  mkdir -p "$ROOT/launch/results"
  cp "$OUT/fedcl-vit.md" "$ROOT/launch/results/fedcl-vit.md"
  cp "$OUT/fedcl-vit.png" "$ROOT/launch/results/fedcl-vit.png"
  echo "fedcl_vit_results: published to launch/results/fedcl-vit.{md,png}"
fi
