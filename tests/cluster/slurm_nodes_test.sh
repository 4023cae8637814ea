#!/usr/bin/env bash
# Multi-node Slurm on one machine: a 2-node namespace cluster (cluster/netns-cluster) with one
# slurmd per node (cluster/local-slurm/start.sh --netns). `sbatch -N 2 --ntasks-per-node=2
# --cpus-per-task=2 cluster/train.sbatch` places 2 ranks on each node, each with 2 threads,
# launched by mpirun (its daemons started through srun, so inside the right namespaces) and
# by srun with the PMIx plugin; TCP carries the traffic between the nodes. Then the time
# limit on 2 nodes: the job is signalled, checkpoints, requeues itself and resumes from
# exactly the step it stopped after, until all its steps are done. fedcl.sbatch runs one
# node group per node. Everything it started (jobs, daemons, bridge
# address, namespaces) is removed at the end, also on failure.
# Skips (status 77) only where namespaces cannot be created or Slurm is not installed.
source "$(dirname "$0")/../e2e/lib.sh"
ROOT=$SPROUT_SOURCE_DIR
export PATH=/usr/sbin:/sbin:$PATH
# Apart from a user's cluster and from the other cluster tests (names, subnet, ports).
export SPROUT_NETNS_PREFIX=sprslm SPROUT_NETNS_SUBNET=10.213.78
# A fixed folder, so that a run killed before its cleanup (a ctest timeout) is cleaned up by
# the next: stop.sh stops only the daemons recorded there, down.sh removes only the sprslm
# namespaces (and what runs in them) that up.sh recorded.
export SPROUT_SLURM_DIR=/tmp/sprout-slurm-nodes-test SPROUT_SLURM_PORT=$((30000 + ($$ % 5000) * 2))
N1=sprslm-n1 N2=sprslm-n2

if [[ $(id -u) -ne 0 ]]; then echo "SKIP: the namespace cluster and slurmd need root"; exit 77; fi
for daemon in slurmctld slurmd munged; do
  command -v $daemon >/dev/null || { echo "SKIP: $daemon is not installed (Debian: slurm-wlm, munge)"; exit 77; }
done
if ! ip netns add sprslm-probe 2>"$WORK/probe.err"; then
  echo "SKIP: network namespaces cannot be created here: $(head -n 1 "$WORK/probe.err")"; exit 77
fi
ip netns del sprslm-probe

JOBS=()
cleanup() {
  ((${#JOBS[@]})) && scancel "${JOBS[@]}" 2>/dev/null
  "$ROOT/cluster/local-slurm/stop.sh" 2>/dev/null
  "$ROOT/cluster/netns-cluster/down.sh" >/dev/null 2>&1
  rm -rf "$WORK" "$SPROUT_SLURM_DIR"
}
"$ROOT/cluster/local-slurm/stop.sh" 2>/dev/null; "$ROOT/cluster/netns-cluster/down.sh" >/dev/null 2>&1
rm -rf "$SPROUT_SLURM_DIR"
trap cleanup EXIT
"$ROOT/cluster/netns-cluster/up.sh" 2 >"$WORK/up" 2>&1 || { echo "FAIL: up.sh: $(cat "$WORK/up")"; exit 1; }
env_line=$("$ROOT/cluster/local-slurm/start.sh" --netns 2>"$WORK/start") \
  || { echo "FAIL: the 2-node Slurm did not start: $(cat "$WORK/start")"; tail -n 5 "$SPROUT_SLURM_DIR"/log/*.log; exit 1; }
eval "$env_line"
[[ $(sinfo -h -N -o '%N %t' | sort | tr '\n' ' ') == "$N1 idle $N2 idle " ]] \
  && pass "2 nodes, each its own slurmd in its namespace, idle" || fail "sinfo: $(sinfo -N)"
cd "$WORK"
ln -s "$SPROUT_SLURM_DIR/log/slurmctld.log" "$WORK/err"  # what fail() shows besides the job's output

# submit ARGS...: sbatch from this host (output to WORK/job-<id>.out); sets JOB.
submit() {
  JOB=$(sbatch --parsable -o "$WORK/job-%j.out" "$@") || { fail "sbatch $*"; return 1; }
  JOBS+=("$JOB")
}
# wait_job ID LIMIT_S: waits until the job has ended (a requeued job has not); sets RC to
# its exit status, or 124 if it is still going after LIMIT_S. (sbatch --wait polls only
# every 10-30 s.)
wait_job() {
  local end=$((SECONDS + $2)) state
  while ((SECONDS < end)); do
    state=$(scontrol show job "$1" -o 2>/dev/null)
    if [[ $state =~ JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) ]]; then
      RC=$(grep -o 'ExitCode=[0-9]*' <<<"$state" | cut -d= -f2); return
    fi
    sleep 1
  done
  RC=124
}
# ranks_on NODE JOB: "pid threads OMP_NUM_THREADS" of each sprout rank of JOB running in NODE.
ranks_on() {
  local pid
  for pid in $(ip netns pids "$1"); do
    grep -qa "^$SPROUT_BIN" "/proc/$pid/cmdline" 2>/dev/null || continue
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "SLURM_JOB_ID=$2" || continue
    echo "$pid $(tr '\0' '\n' <"/proc/$pid/cmdline" | grep -A1 -x -- --runtime.threads | tail -n 1)" \
         "$(tr '\0' '\n' <"/proc/$pid/environ" | grep '^OMP_NUM_THREADS=' | cut -d= -f2)"
  done
}

count_lines() { [[ -z $1 ]] && echo 0 || wc -l <<<"$1"; }

cat >place.ini <<'INI'
[data]
name = synthetic
[model]
widths = 32
[train]
batch = 16
steps = 30
log_every = 10
[checkpoint]
every = 1000
[test]
step_sleep_ms = 250
INI

# 1. The time limit on 2 nodes, submitted first and checked last (the jobs of 2, 3 and 4 run
#    beside it, on the CPUs each node has left). Slurm sends --signal's USR1 at its 30 s
#    time-limit check once fewer than signal + 30 s are left: with --time=2
#    --signal=B:USR1@45 that is 45-75 s into each run. 152 steps of at least 0.5 s (the test's step sleep) take >= 76 s, so the
#    first run is always stopped; the second, resuming, usually finishes before its own
#    signal (when the machine is slow it is signalled too and requeues again: every resume
#    must start from the step the previous run stopped after).
steps=152
start=$SECONDS
submit -N 2 --ntasks-per-node=2 --time=2 --signal=B:USR1@45 "$ROOT/cluster/train.sbatch" place.ini \
  --train.steps $steps --test.step_sleep_ms 500 --train.log_every 50 --log.progress lines
LIMITED=$JOB

# 2. Placement, both launchers: 2 ranks per node, threads per rank from --cpus-per-task.
#    Open MPI's verbose output names the transport each rank uses towards each peer.
for launcher in mpirun srun; do
  SPROUT_LAUNCHER=$launcher OMPI_MCA_btl_base_verbose=100 \
    submit -N 2 --ntasks-per-node=2 --cpus-per-task=2 --time=3 "$ROOT/cluster/train.sbatch" place.ini || continue
  seen1="" seen2=""
  # The ranks as they run: which node, how many, what threads. A node's ranks start one
  # after another, so sample until both show 2 (or the job is over).
  for _ in $(seq 120); do
    (($(count_lines "$seen1") < 2)) && seen1=$(ranks_on $N1 "$JOB")
    (($(count_lines "$seen2") < 2)) && seen2=$(ranks_on $N2 "$JOB")
    (($(count_lines "$seen1") >= 2 && $(count_lines "$seen2") >= 2)) && break
    sleep 0.5
  done
  wait_job "$JOB" 120
  out=$WORK/job-$JOB.out
  cp "$out" "$WORK/out" 2>/dev/null
  expect_rc 0 "$launcher: 2-node job $JOB"
  grep -q "train.sbatch: launcher $launcher" "$out" && pass "$launcher: launched by $launcher" || fail "$launcher: $(grep launcher "$out")"
  [[ $(wc -l <<<"$seen1") == 2 && $(wc -l <<<"$seen2") == 2 ]] \
    && pass "$launcher: 2 ranks running in each node's namespace" || fail "$launcher: ranks in $N1: [$seen1], in $N2: [$seen2]"
  [[ $(awk '$2 == 2 && $3 == 2' <<<"$seen1"$'\n'"$seen2" | wc -l) == 4 ]] \
    && pass "$launcher: every rank has --runtime.threads 2 and OMP_NUM_THREADS=2 (--cpus-per-task=2)" \
    || fail "$launcher: threads per rank (pid threads OMP): $seen1 / $seen2"
  grep -q '"step":30,.*"world_size":4' "$out" && pass "$launcher: 4 ranks trained all 30 steps" || fail "$launcher: $(tail -n 3 "$out")"
  btl=$(grep -E "^\[sprslm-n[12]:[0-9]+\] mca: bml: Using [a-z]+ btl for send to .* on node sprslm-n[12]$" "$out" |
    sed -E 's/^\[sprslm-n([12]):.* Using ([a-z]+) btl .* on node sprslm-n([12])$/\1 \2 \3/')
  tcp_between=$(awk '$2 == "tcp" && $1 != $3' <<<"$btl" | wc -l)
  wrong=$(awk '!(($2 == "tcp" && $1 != $3) || ($2 == "vader" && $1 == $3) || $2 == "self")' <<<"$btl" | wc -l)
  ((tcp_between >= 2 && wrong == 0)) && pass "$launcher: TCP between the nodes ($tcp_between rank pairs), shared memory inside" \
    || fail "$launcher: transports (node btl peer-node): $btl"
done

# 3. An srun MPI plugin Slurm does not have: the script says so and launches with mpirun.
SPROUT_LAUNCHER=srun SPROUT_SRUN_MPI=nosuchpmi submit -N 2 --ntasks-per-node=1 --time=3 \
  "$ROOT/cluster/train.sbatch" place.ini --train.steps 4 --test.step_sleep_ms 0 && wait_job "$JOB" 120
out=$WORK/job-$JOB.out
cp "$out" "$WORK/out" 2>/dev/null
[[ $RC == 0 ]] && grep -q "srun has no MPI plugin 'nosuchpmi' (srun --mpi=list: .*pmix" "$out" && grep -q '"step":4,.*"world_size":2' "$out" \
  && pass "unknown srun MPI plugin: a message naming it and the plugins there are, then mpirun" || fail "fallback: status $RC: $(head -n 5 "$out")"

# 4. The federated job on 2 nodes: one node group per Slurm node, merged with MagMax.
submit -N 2 --ntasks-per-node=2 --time=3 "$ROOT/cluster/fedcl.sbatch" "$ROOT/launch/configs/fedcl.ini" \
  --data.name synthetic --fedcl.steps 20 --fedcl.warmup_steps 20 --fedcl.report "$WORK/fedcl-report" && wait_job "$JOB" 150
out=$WORK/job-$JOB.out
cp "$out" "$WORK/out" 2>/dev/null
[[ $RC == 0 ]] && grep -q "fedcl.sbatch: job $JOB on sprslm-n\[1-2\]: 4 ranks" "$out" && grep -q magmax "$out" \
  && $PY -c "import json,sys; r=json.load(open(sys.argv[1])); c=r['config']; sys.exit(0 if (c['nodes'], c['world']) == (2, 4) and 'magmax' in r['models'] else 1)" "$WORK/fedcl-report.json" \
  && pass "fedcl.sbatch on 2 nodes: 2 node groups (one per Slurm node) of 4 ranks, MagMax merge done" || fail "fedcl.sbatch: status $RC"

# 1. (its end) The time-limited job, by now requeued and resumed.
wait_job "$LIMITED" 330
JOB=$LIMITED
out=$WORK/job-$JOB.out
cp "$out" "$WORK/out" 2>/dev/null
echo "--- job $JOB ($((SECONDS - start)) s)"; grep -E 'train.sbatch|stop|resumed|"step"' "$out" | tail -n 12
expect_rc 0 "time-limited 2-node job"
runs=$(grep -c "train.sbatch: job $JOB run [0-9]* on sprslm-n\[1-2\]: 4 ranks" "$out")
stops=$(grep -o 'stopped after step [0-9]*' "$out" | awk '{ print $4 }' | tr '\n' ' ')
resumes=$(grep -o 'resumed from [^ ]*step-[0-9]*' "$out" | grep -o '[0-9]*$' | sed -E 's/^0+//' | tr '\n' ' ')
final=$(grep -o '"step":[0-9]*,"train_loss"' "$out" | tail -n 1 | grep -o '[0-9]*')
((runs >= 2)) && pass "it ran $runs times, each on both nodes (requeued $((runs - 1)) time(s))" || fail "it ran $runs times on 2 nodes"
[[ -n $stops && $(wc -w <<<"$stops") == $((runs - 1)) ]] && pass "each run but the last stopped on the signal (after step(s) ${stops% })" \
  || fail "stops '$stops' for $runs runs"
[[ -n $resumes && $resumes == "$stops" ]] && pass "each requeued run resumed from the step the previous stopped after: no step lost" \
  || fail "resumed from '$resumes', stopped after '$stops'"
[[ $final == "$steps" ]] && pass "finished all $steps steps" || fail "final step '$final' of $steps"

"$ROOT/cluster/local-slurm/stop.sh" 2>/dev/null
[[ ! -e $SPROUT_SLURM_DIR/run/bridge-address.added ]] && ! ip -4 addr show dev sprslm-br | grep -q 'inet ' \
  && ! pgrep -f "$SPROUT_SLURM_DIR/slurm.conf" >/dev/null \
  && pass "stop.sh stopped the daemons and removed the bridge address" || fail "left behind: $(pgrep -af "$SPROUT_SLURM_DIR")"
finish
