#!/usr/bin/env bash
# Peak memory per rank of HDF5 training (data.name = hdf5) against the file's size: the
# ranks read rows by hyperslab, so their peak should not grow with the file.
#
# usage: data/scripts/hdf5_memory.sh SPROUT_BIN [RANKS=2]
# Writes synthetic CIFAR-shaped files (3x32x32 uint8, 10 classes) of 10k, 50k and 150k
# training examples (1k test), trains 20 steps on each (a small CNN, batch 32 per rank),
# and prints one Markdown row per file: its size, each rank's peak resident memory
# (getrusage ru_maxrss, through /usr/bin/time) and the run's wall time (start-up, the
# normalisation pass over the training split, 20 steps, the test evaluation). The first
# row is the floor: the same run on the small in-memory synthetic set (LibTorch, MPI and
# the model alone).
set -euo pipefail
BIN=${1:?usage: hdf5_memory.sh SPROUT_BIN [RANKS]}
RANKS=${2:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sprout-hdf5-memory-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "| training examples | file MB | peak RSS per rank, MB | wall s |"
echo "|---:|---:|---|---:|"
peak_rows() { grep -o 'maxrss_kb [0-9]*' "$WORK/err" | awk '{printf "%s%.0f", sep, $2 / 1024; sep=", "}'; }
start=$(date +%s.%N)
mpirun -np "$RANKS" --oversubscribe /usr/bin/time -f "maxrss_kb %M" "$BIN" train --data.name synthetic \
  --data.synthetic_train 1024 --data.synthetic_test 1000 --model.kind cnn --train.steps 20 --train.batch 32 \
  --log.progress none >"$WORK/out" 2>"$WORK/err"
printf '| synthetic, in memory: 1024 | - | %s | %.1f |\n' "$(peak_rows)" "$(echo "$(date +%s.%N) - $start" | bc)"
for n in 10000 50000 150000; do
  /usr/bin/python3 - "$WORK/set.h5" "$n" <<'EOF'
import sys, h5py, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
r = np.random.default_rng(0)
with h5py.File(path, 'w') as f:
    x = f.create_dataset('train/images', (n, 3, 32, 32), np.uint8)
    for s in range(0, n, 10000):  # written in slices: this script stays small too
        m = min(10000, n - s)
        x[s:s + m] = r.integers(0, 256, (m, 3, 32, 32), dtype=np.uint8)
    f['train/labels'] = r.integers(0, 10, n)
    f['test/images'] = r.integers(0, 256, (1000, 3, 32, 32), dtype=np.uint8)
    f['test/labels'] = r.integers(0, 10, 1000)
    f.attrs['num_classes'] = 10
EOF
  size=$(( $(stat -c %s "$WORK/set.h5") / 1000000 ))
  start=$(date +%s.%N)
  mpirun -np "$RANKS" --oversubscribe /usr/bin/time -f "maxrss_kb %M" "$BIN" train --data.name hdf5 \
    --data.path "$WORK/set.h5" --model.kind cnn --train.steps 20 --train.batch 32 --log.progress none \
    >"$WORK/out" 2>"$WORK/err"
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  peaks=$(peak_rows)
  printf '| %s | %s | %s | %.1f |\n' "$n" "$size" "$peaks" "$seconds"
done
