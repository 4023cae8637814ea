#!/usr/bin/env bash
# `sprout plan`'s predictions against measurements on this machine, side by side with the
# error (run by hand; the table in launch/plan/README.md comes from it):
#   step time    for N ranks on this node: bench calibrate on N ranks (the compute rate with
#                N ranks sharing the cores), then plan for N ranks per node, beside
#                `sprout bench train` on N ranks (the same model, batch and optimizer):
#                CPU time (plan: compute + the trainer's own work + update + the gradients'
#                reduction, from the calibrated CPU times; measured: the process CPU time
#                of a step, bench train's step_cpu_ms) and wall-clock time (plan: the
#                step on a node of its own, CPU time over each rank's share of the cores,
#                plus exposed communication; measured: step_ms), with the load average
#                (1 minute) before each configuration
#   allreduce    the ring's α–β prediction from the fitted node link beside the ring's
#                measured time, per message size (from the same calibration)
#   memory       for a wide MLP (hidden MEM_H, 3 steps): planned bytes above a tiny model's
#                beside the measured resident memory the model added (bench train's
#                model_rss_mb: from the process with its data loaded, freed memory returned
#                to the kernel, to the peak of training) above the tiny model's (what
#                LibTorch and MPI set up on first use cancels out)
# usage: launch/plan/validate.sh [RANKS...]   (default: 1 2 3 4 8; 8 oversubscribes)
#   env: SPROUT_BIN (default build/launch/sprout), H (hidden width, 1024), B (batch, 64),
#        STEPS (timed steps, 40), MEM_H (hidden width of the memory runs, 4096)
set -euo pipefail
BIN=${SPROUT_BIN:-build/launch/sprout}
H=${H:-1024}; B=${B:-64}; STEPS=${STEPS:-40}; MEM_H=${MEM_H:-4096}
RANKS=("${@:-1 2 3 4 8}"); RANKS=(${RANKS[*]})
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mpi() { local n=$1; shift; mpirun -np "$n" --oversubscribe "$BIN" "$@"; }
field() { grep -o "$1=[0-9.]*" | head -1 | cut -d= -f2; }
plan_csv() {  # plan_csv N WIDTH PREFIX: plan for N ranks on one node
  "$BIN" plan --plan.calibration "$TMP/cal$1.json" --model.widths "$2,$2" --train.batch "$B" --optim.name sgd \
    --plan.ranks_per_node "$1" --plan.max_ranks "$1" --plan.memory_gb 1000 --plan.out "$3" >/dev/null
}
row() {  # row CSV N COLUMN
  /usr/bin/python3 -c "import csv,sys; print([r for r in csv.DictReader(open(sys.argv[1])) if r['ranks']==sys.argv[2]][0][sys.argv[3]])" "$@"
}
echo "# sprout plan vs measured: step time of MLP 784-$H-$H-10, memory of MLP 784-$MEM_H-$MEM_H-10 above 784-8-8-10;"
echo "# batch $B per rank, SGD, 1 thread per rank; $(nproc) cores shared with other work (load average $(cut -d' ' -f1-3 /proc/loadavg) at the start)"
printf "%5s %6s %11s %11s %8s   %12s %12s %8s   %12s %12s %8s\n" ranks load plan_cpu_ms meas_cpu_ms error \
  plan_step_ms meas_step_ms error plan_mem_MB meas_rss_MB error
for n in "${RANKS[@]}"; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  mpi "$n" bench calibrate --out "$TMP/cal$n.json" --arch "kind=mlp;in=1x28x28;classes=10;widths=$H,$H" --batch "$B" \
    --threads 1 --steps 10 --reps 3 --max_bytes 16777216 --checkpoint_mb 16 --dir "$TMP" >/dev/null
  plan_csv "$n" "$H" "$TMP/p$n"; plan_csv "$n" "$MEM_H" "$TMP/w$n"; plan_csv "$n" 8 "$TMP/t$n"
  pred_ms=$(/usr/bin/python3 -c "print(1e3*float('$(row "$TMP/p$n.csv" "$n" step_s_ring)'))")
  pred_cpu=$(/usr/bin/python3 -c "print(1e3*sum(float(x) for x in '$(row "$TMP/p$n.csv" "$n" compute_cpu_s) $(row "$TMP/p$n.csv" "$n" trainer_cpu_s) $(row "$TMP/p$n.csv" "$n" update_cpu_s) $(row "$TMP/p$n.csv" "$n" bucket_copy_cpu_s) $(row "$TMP/p$n.csv" "$n" reduction_cpu_s)'.split()))")
  pred_mb=$(/usr/bin/python3 -c "print((float('$(row "$TMP/w$n.csv" "$n" peak_bytes)')-float('$(row "$TMP/t$n.csv" "$n" peak_bytes)'))/2**20)")
  big=$(mpi "$n" bench train --model mlp --hidden "$H" --batch "$B" --steps "$STEPS" --warmup 5 --threads 1 --data synthetic)
  wide=$(mpi "$n" bench train --model mlp --hidden "$MEM_H" --batch "$B" --steps 2 --warmup 1 --threads 1 --data synthetic)
  tiny=$(mpi "$n" bench train --model mlp --hidden 8 --batch "$B" --steps 2 --warmup 1 --threads 1 --data synthetic)
  meas_ms=$(echo "$big" | field step_ms); meas_cpu=$(echo "$big" | field step_cpu_ms)
  meas_mb=$(/usr/bin/python3 -c "print($(echo "$wide" | field model_rss_mb) - $(echo "$tiny" | field model_rss_mb))")
  /usr/bin/python3 -c "
c, mc, p, m, pm, mm = $pred_cpu, $meas_cpu, $pred_ms, $meas_ms, $pred_mb, $meas_mb
e = lambda a, b: 100 * (a - b) / b
print('%5d %6s %11.2f %11.2f %+7.1f%%   %12.2f %12.2f %+7.1f%%   %12.1f %12.1f %+7.1f%%' % ($n, '$load', c, mc, e(c, mc), p, m, e(p, m), pm, mm, e(pm, mm)))"
  cp "$TMP/cal$n.json" "$TMP/keep$n.json"
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "# ring allreduce: alpha-beta prediction (node link fitted from ping-pong) vs measured, per calibration"
printf "%5s %12s %12s %12s %8s\n" ranks bytes plan_us meas_us error
for n in "${RANKS[@]}"; do
  [[ $n -gt 1 ]] || continue
  /usr/bin/python3 - "$TMP/keep$n.json" "$n" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); n = int(sys.argv[2])
a, b = c["links"]["node"]["alpha_s"], c["links"]["node"]["beta_s_per_byte"]
for r in c["collectives"]:
    p = 2 * (n - 1) * (a + b * r["bytes"] / n); m = r["ring_allreduce_s"]
    print("%5d %12d %12.1f %12.1f %+7.1f%%" % (n, r["bytes"], p * 1e6, m * 1e6, 100 * (p - m) / m))
PYEOF
done
