#!/usr/bin/env bash
# Training throughput from an HDF5 file (each batch read by hyperslab) against the same
# data in memory (IDX), side by side: Fashion-MNIST converted by to_hdf5.py, the default
# MLP (256,256), 300 steps of batch 64 per rank, alternating IDX and HDF5 runs REPEATS
# times; prints each run's samples/s (training steps only) and the median ratio.
#
# usage: data/scripts/hdf5_vs_idx.sh SPROUT_BIN [RANKS=2] [REPEATS=3]
set -euo pipefail
BIN=${1:?usage: hdf5_vs_idx.sh SPROUT_BIN [RANKS] [REPEATS]}
RANKS=${2:-2}
REPEATS=${3:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sprout-hdf5-vs-idx-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 "$HERE/to_hdf5.py" --idx /usr/share/datasets/fashion-mnist --out "$WORK/fm.h5" >/dev/null

rate() {  # ARGS...: samples/s of one run
  mpirun -np "$RANKS" --oversubscribe "$BIN" train --train.steps 300 --train.batch 64 --log.progress none "$@" \
    2>/dev/null | tail -n 1 | /usr/bin/python3 -c "import json, sys; print(round(json.load(sys.stdin)['samples_per_s']))"
}
idx=() h5=()
for ((i = 0; i < REPEATS; ++i)); do
  idx+=("$(rate)")
  h5+=("$(rate --data.name hdf5 --data.path "$WORK/fm.h5")")
done
/usr/bin/python3 - "${idx[*]}" "${h5[*]}" <<'EOF'
import statistics, sys
idx, h5 = [list(map(int, a.split())) for a in sys.argv[1:]]
print(f"IDX  (in memory) samples/s: {idx}, median {statistics.median(idx)}")
print(f"HDF5 (hyperslab) samples/s: {h5}, median {statistics.median(h5)}")
print(f"HDF5 / IDX: {statistics.median(h5) / statistics.median(idx):.2f}")
EOF
