#!/usr/bin/env bash
# Reproduces the README's "Merging task experts" results: Fashion-MNIST, 5 class-incremental
# tasks, launch/configs/fedcl.ini, one rank per node group, 3 seeds, in the settings
#   2 node groups, init=base       (independent experts from θ0)
#   5 node groups, init=base       (every task in one round)
#   2 node groups, init=sequential (MagMax's sequential fine-tuning, per group)
#   2 node groups, init=sequential, frozen head (closest to the paper: heads stay θ0's)
# then tabulates (mean ± std) and plots them with launch/fedcl_plot.py.
#   launch/fedcl_results.sh [OUT_DIR]     (default fedcl-results; SEEDS="0 1 2")
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
OUT=${1:-fedcl-results}
SEEDS=${SEEDS:-0 1 2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p "$OUT"
/usr/bin/python3 -c "import matplotlib" 2>/dev/null || {
  echo "installing python3-matplotlib"; ${SUDO:-$( [[ $(id -u) -eq 0 ]] || echo sudo )} apt-get install -y -q python3-matplotlib; }

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

/usr/bin/python3 "$ROOT/launch/fedcl_plot.py" "$OUT"/n2-base-s*.json "$OUT"/n5-base-s*.json \
  --png "$OUT/fedcl-base.png" --table "$OUT/fedcl-base.md"
/usr/bin/python3 "$ROOT/launch/fedcl_plot.py" "$OUT"/n2-sequential-s*.json "$OUT"/n2-sequential-frozen-s*.json \
  --png "$OUT/fedcl-sequential.png" --table "$OUT/fedcl-sequential.md"
