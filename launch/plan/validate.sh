#!/usr/bin/env bash
# `sprout plan`'s predictions against measurements on this machine, side by side with the
# error (run by hand; the table in launch/plan/README.md comes from it):
#   step time    for N ranks on this node: bench calibrate on N ranks (the compute rate with
#                N ranks sharing the cores), then plan for N ranks per node, beside
#                `sprout bench train` on N ranks (the same model, batch and optimizer):
#                CPU time (plan: compute + the trainer's own work + update + the engine's
#                copy into buckets and reduction, from the calibrated CPU times; measured:
#                the process CPU time of a step, bench train's step_cpu_ms) and wall-clock
#                time (plan: the step on a node of its own, CPU time over each rank's share
#                of the cores, plus communication exposed beyond it; measured: step_ms),
#                with the load average (1 minute) before each configuration
#   allreduce    the ring's α–β prediction from the fitted links beside the ring's
#                measured time, per message size (from the same calibration)
#   memory       for a wide MLP (hidden MEM_H, 3 steps): planned bytes above a tiny model's
#                beside the lowest and highest of 3 runs' resident memory the model added (bench train's
#                model_rss_mb: from the process with its data loaded, freed memory returned
#                to the kernel, to the peak of training) above the tiny model's (what
#                LibTorch and MPI set up on first use cancels out)
#   2x2          the same for 4 ranks as 2 nodes of 2: network namespaces of this machine
#                (cluster/netns-cluster/: shared memory inside a node, TCP between the
#                two), calibrated across both (calibrate finds the nodes and measures the
#                link between them), planned with 2 ranks per node on nodes of half this
#                machine's cores each (plan.cores_per_node: the two share its cores); needs root;
#                then the step of each allreduce (ring, hierarchical, scattered), planned
#                and measured
# Every run but those reduces with the ring (bench train --allreduce ring), the plan's step_s_ring.
# usage: launch/plan/validate.sh [CONFIG...]   (default: 1 2 3 4 8 2x2; a number N: N ranks on
#   this node, 8 oversubscribes; 2x2: the namespace cluster)
#   env: SPROUT_BIN (default build/launch/sprout), H (hidden width, 1024), B (batch, 64),
#        STEPS (timed steps, 200), MEM_H (hidden width of the memory runs, 4096)
set -euo pipefail
BIN=$(realpath "${SPROUT_BIN:-build/launch/sprout}")  # the namespace nodes start it from their own directory
H=${H:-1024}; B=${B:-64}; STEPS=${STEPS:-200}; MEM_H=${MEM_H:-4096}
CONFIGS=("${@:-1 2 3 4 8 2x2}"); CONFIGS=(${CONFIGS[*]})
for c in "${CONFIGS[@]}"; do
  [[ $c =~ ^[1-9][0-9]?$ || $c == 2x2 ]] || { echo "validate.sh: configuration '$c' is not a rank count (1-99) or 2x2" >&2; exit 2; }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
NC=$(dirname "$0")/../../cluster/netns-cluster
export SPROUT_NETNS_PREFIX=sprval SPROUT_NETNS_SUBNET=10.219.77  # apart from the tests' clusters
TMP=$(mktemp -d)
cleanup() { [[ " ${CONFIGS[*]} " == *" 2x2 "* ]] && "$NC/down.sh" >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
if [[ " ${CONFIGS[*]} " == *" 2x2 "* ]]; then "$NC/up.sh" 2 >/dev/null; fi
ranks() { [[ $1 == 2x2 ]] && echo 4 || echo "$1"; }
per_node() { [[ $1 == 2x2 ]] && echo 2 || echo "$1"; }
mpi() {  # mpi CONFIG ARG...: the ranks of CONFIG running sprout ARG...
  local c=$1; shift
  if [[ $c == 2x2 ]]; then "$NC/mpirun.sh" -np 4 "$BIN" "$@"; else mpirun -np "$c" --oversubscribe "$BIN" "$@"; fi
}
field() { grep -o "$1=[0-9.]*" | head -1 | cut -d= -f2; }
row() {  # row CSV N COLUMN
  /usr/bin/python3 -c "import csv,sys; print([r for r in csv.DictReader(open(sys.argv[1])) if r['ranks']==sys.argv[2]][0][sys.argv[3]])" "$@"
}
plan_csv() {  # plan_csv CONFIG WIDTH PREFIX: plan for CONFIG's ranks and ranks per node
  "$BIN" plan --plan.calibration "$TMP/cal$1.json" --model.widths "$2,$2" --train.batch "$B" --optim.name sgd \
    --plan.ranks_per_node "$(per_node "$1")" --plan.max_ranks "$(ranks "$1")" --plan.memory_gb 1000 --plan.out "$3" \
    $([[ $1 == 2x2 ]] && echo --plan.cores_per_node $(( $(nproc) / 2 )) || true) >/dev/null
}
echo "# sprout plan vs measured: step time of MLP 784-$H-$H-10, memory of MLP 784-$MEM_H-$MEM_H-10 above 784-8-8-10;"
echo "# batch $B per rank, SGD, 1 thread per rank; $(nproc) cores shared with other work (load average $(cut -d' ' -f1-3 /proc/loadavg) at the start)"
printf "%5s %6s %11s %11s %8s   %12s %12s %8s   %11s %17s %17s\n" ranks load plan_cpu_ms meas_cpu_ms error \
  plan_step_ms meas_step_ms error plan_mem_MB "meas_rss_MB lo/hi" "error lo/hi"
for c in "${CONFIGS[@]}"; do
  n=$(ranks "$c")
  load=$(cut -d' ' -f1 /proc/loadavg)
  mpi "$c" bench calibrate --out "$TMP/cal$c.json" --arch "kind=mlp;in=1x28x28;classes=10;widths=$H,$H" --batch "$B" \
    --threads 1 --steps 30 --reps 5 --max_bytes 16777216 --checkpoint_mb 16 --dir "$TMP" >/dev/null
  plan_csv "$c" "$H" "$TMP/p$c"; plan_csv "$c" "$MEM_H" "$TMP/w$c"; plan_csv "$c" 8 "$TMP/t$c"
  pred_ms=$(/usr/bin/python3 -c "print(1e3*float('$(row "$TMP/p$c.csv" "$n" step_s_ring)'))")
  pred_cpu=$(/usr/bin/python3 -c "print(1e3*sum(float(x) for x in '$(row "$TMP/p$c.csv" "$n" compute_cpu_s) $(row "$TMP/p$c.csv" "$n" trainer_cpu_s) $(row "$TMP/p$c.csv" "$n" update_cpu_s) $(row "$TMP/p$c.csv" "$n" bucket_copy_cpu_s) $(row "$TMP/p$c.csv" "$n" reduction_cpu_s)'.split()))")
  pred_mb=$(/usr/bin/python3 -c "print((float('$(row "$TMP/w$c.csv" "$n" peak_bytes)')-float('$(row "$TMP/t$c.csv" "$n" peak_bytes)'))/2**20)")
  big=$(mpi "$c" bench train --model mlp --hidden "$H" --batch "$B" --steps "$STEPS" --warmup 10 --threads 1 --data synthetic --allreduce ring)
  wide=""; for rep in 1 2 3; do  # 3 runs: whether the heap's placement adds a block varies (README)
    wide+=" $(mpi "$c" bench train --model mlp --hidden "$MEM_H" --batch "$B" --steps 2 --warmup 1 --threads 1 --data synthetic --allreduce ring | field model_rss_mb)"
  done
  tiny=$(mpi "$c" bench train --model mlp --hidden 8 --batch "$B" --steps 2 --warmup 1 --threads 1 --data synthetic --allreduce ring)
  meas_ms=$(echo "$big" | field step_ms); meas_cpu=$(echo "$big" | field step_cpu_ms)
  /usr/bin/python3 -c "
c, mc, p, m, pm = $pred_cpu, $meas_cpu, $pred_ms, $meas_ms, $pred_mb
wide, tiny = [float(x) for x in '$wide'.split()], $(echo "$tiny" | field model_rss_mb)
lo, hi = min(wide) - tiny, max(wide) - tiny
e = lambda a, b: 100 * (a - b) / b
print('%5s %6s %11.2f %11.2f %+7.1f%%   %12.2f %12.2f %+7.1f%%   %11.1f %8.1f/%8.1f %+6.1f%%/%+6.1f%%' % ('$c', '$load', c, mc, e(c, mc), p, m, e(p, m), pm, lo, hi, e(pm, lo), e(pm, hi)))"
done
if [[ " ${CONFIGS[*]} " == *" 2x2 "* ]]; then
  echo
  echo "# 2 nodes x 2 ranks: each allreduce's step, planned (the 2x2 plan above) vs measured (bench train --allreduce A)"
  printf "%13s %12s %12s %8s\n" allreduce plan_step_ms meas_step_ms error
  for a in ring hierarchical scattered; do
    m=$(mpi 2x2 bench train --model mlp --hidden "$H" --batch "$B" --steps "$STEPS" --warmup 10 --threads 1 --data synthetic \
      --allreduce "$a" | field step_ms)
    /usr/bin/python3 -c "p, m = 1e3 * float('$(row "$TMP/p2x2.csv" 4 "step_s_$a")'), $m
print('%13s %12.2f %12.2f %+7.1f%%' % ('$a', p, m, 100 * (p - m) / m))"
  done
fi
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "# ring allreduce: alpha-beta prediction (links fitted from ping-pong) vs measured, per calibration"
printf "%5s %12s %12s %12s %8s\n" ranks bytes plan_us meas_us error
for c in "${CONFIGS[@]}"; do
  [[ $c != 1 ]] || continue
  /usr/bin/python3 - "$TMP/cal$c.json" "$c" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); name = sys.argv[2]; n = c["ranks"]
# A flat ring across nodes is paced by its slowest hop (runtime/comm/allreduce_cost.h flat_link).
links = [c["links"]["node"]] + ([c["links"]["between"]] if c["nodes"]["count"] > 1 else [])
a, b = max(l["alpha_s"] for l in links), max(l["beta_s_per_byte"] for l in links)
for r in c["collectives"]:
    p = 2 * (n - 1) * (a + b * r["bytes"] / n); m = r["ring_allreduce_s"]
    print("%5s %12d %12.1f %12.1f %+7.1f%%" % (name, r["bytes"], p * 1e6, m * 1e6, 100 * (p - m) / m))
PYEOF
done
