#!/usr/bin/env bash
# bench.sh [SPROUT]: what crossing nodes costs. Runs `sprout bench allreduce` and
# `sprout bench train` (with and without overlapping the gradient allreduce with backward)
# on 4 ranks twice — 1 node x 4 ranks (shared memory) and 2 nodes x 2 ranks (TCP between
# the nodes over the namespace cluster's veth bridge) — and prints them side by side.
# Brings up a 2-node cluster if none is up (and then removes it again).
# SPROUT: the binary (default: $SPROUT_BIN, else build/launch/sprout).
# BENCH_TRAIN_ARGS / BENCH_ALLREDUCE_ARGS: options of the two benchmarks.
source "$(dirname "$0")/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SPROUT=$(realpath "${1:-${SPROUT_BIN:-build/launch/sprout}}")
[[ -x $SPROUT ]] || { echo "bench.sh: sprout binary '$SPROUT' not found" >&2; exit 2; }
read -r -a TRAIN_ARGS <<<"${BENCH_TRAIN_ARGS:---model mlp --hidden 256 --batch 64 --steps 60 --warmup 5}"
read -r -a ALLREDUCE_ARGS <<<"${BENCH_ALLREDUCE_ARGS:---min_bytes 1024 --max_bytes 1048576 --reps 1}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
TMP=$(mktemp -d)
CLEANUP=""
trap 'rm -rf "$TMP"; [[ -n $CLEANUP ]] && "$HERE/down.sh" >/dev/null' EXIT
if [[ ! -f $STATE/nodes || $(wc -l <"$STATE/nodes") -lt 2 ]]; then
  "$HERE/up.sh" 2 >/dev/null; CLEANUP=1
fi
first=$(head -n 1 "$STATE/nodes" | cut -d' ' -f2)
one_node() { timeout 120 "$HERE/exec.sh" "$first" mpirun -np 4 --oversubscribe --mca mpi_yield_when_idle 1 "$SPROUT" "$@"; }
two_nodes() { timeout 120 "$HERE/mpirun.sh" -np 4 --mca mpi_yield_when_idle 1 "$SPROUT" "$@"; }

one_node bench allreduce "${ALLREDUCE_ARGS[@]}" >"$TMP/ar1"
two_nodes bench allreduce "${ALLREDUCE_ARGS[@]}" >"$TMP/ar2"
echo "# bench allreduce, 4 ranks, float32 sum: engine (bucketed ring) and plain MPI_Allreduce, median us"
printf '%10s %14s %14s %14s %14s %10s\n' bytes 1x4_engine_us 2x2_engine_us 1x4_mpi_us 2x2_mpi_us 2x2/1x4
join <(awk '/^ +[0-9]+ / { print $1, $3, $6 }' "$TMP/ar1") <(awk '/^ +[0-9]+ / { print $1, $3, $6 }' "$TMP/ar2") |
  awk '{ printf "%10d %14.1f %14.1f %14.1f %14.1f %10.2f\n", $1, $2, $4, $3, $5, $4 / $2 }'
echo
echo "# bench train ${TRAIN_ARGS[*]}, 4 ranks"
printf '%-8s %-8s %14s %10s\n' layout overlap samples_per_s step_ms
for overlap in true false; do
  for layout in 1x4 2x2; do
    if [[ $layout == 1x4 ]]; then one_node bench train "${TRAIN_ARGS[@]}" --overlap $overlap >"$TMP/tr"
    else two_nodes bench train "${TRAIN_ARGS[@]}" --overlap $overlap >"$TMP/tr"; fi
    line=$(grep -E '^sprout world=' "$TMP/tr" | tail -n 1)
    printf '%-8s %-8s %14s %10s\n' $layout $overlap \
      "$(grep -o 'samples_per_s=[0-9.]*' <<<"$line" | cut -d= -f2)" "$(grep -o 'step_ms=[0-9.]*' <<<"$line" | cut -d= -f2)"
  done
done
