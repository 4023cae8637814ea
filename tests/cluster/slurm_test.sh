#!/usr/bin/env bash
# cluster/ scripts against a real one-node Slurm (cluster/local-slurm): a training job
# completes and its checkpoint opens; a job whose time limit is too short is signalled,
# checkpoints, requeues itself and finishes all its steps in its second run, losing none;
# the federated continual-learning job completes. Needs root (slurmd launches jobs).
source "$(dirname "$0")/../e2e/lib.sh"
ROOT=$SPROUT_SOURCE_DIR
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: the local Slurm needs root"; exit 0; fi

export SPROUT_SLURM_DIR=$WORK/slurm
eval "$("$ROOT/cluster/local-slurm/start.sh")" || { echo "FAIL: local Slurm did not start"; exit 1; }
trap '"$ROOT/cluster/local-slurm/stop.sh"; rm -rf "$WORK"' EXIT
cd "$WORK"

cat >small.ini <<'INI'
[data]
name = synthetic
[model]
widths = 32
[train]
batch = 16
steps = 60
log_every = 20
[checkpoint]
every = 20
at_end = true
INI

# 1. A training job completes; its checkpoints open.
timeout 300 sbatch --wait -o "$WORK/train-%j.out" --ntasks-per-node=2 --time=5 \
  "$ROOT/cluster/train.sbatch" small.ini --log.progress lines >"$WORK/submit" 2>&1
RC=$?
job=$(awk '/Submitted batch job/ {print $4}' "$WORK/submit")
out=$WORK/train-$job.out
if [[ $RC -eq 0 ]] && grep -q '"step":60' "$out"; then pass "train.sbatch job $job completed"; else fail "train.sbatch: status $RC"; cat "$out"; fi
ckpt=$(ls "$WORK"/checkpoints/*"-$job"/step-00000060.h5 2>/dev/null | head -n 1)
if [[ -n $ckpt ]] && "$SPROUT_BIN" inspect "$ckpt" >"$WORK/inspect" 2>&1; then pass "its checkpoint opens ($ckpt)"; else fail "no readable checkpoint: $(cat "$WORK/inspect" 2>/dev/null)"; fi
$PY -c "import h5py,sys; f=h5py.File(sys.argv[1]); assert f.attrs['step']==60; f['model/fc1/weight'][()]" "$ckpt" \
  && pass "h5py reads it" || fail "h5py cannot read $ckpt"

# 2. Time limit too short: 3 min limit, USR1 100 s before it (Slurm checks every 30 s, so the
#    signal lands 80-110 s in); the run needs ~130 s (600 steps × 0.2 s). The first run must
#    stop with a checkpoint, the requeued second run must finish before its own signal.
cat >long.ini <<'INI'
[data]
name = synthetic
[model]
widths = 32
[train]
batch = 16
steps = 600
log_every = 50
[checkpoint]
every = 200
[test]
step_sleep_ms = 200
INI
start=$SECONDS
timeout 600 sbatch --wait -o "$WORK/long-%j.out" --ntasks-per-node=2 --time=3 --signal=B:USR1@100 \
  "$ROOT/cluster/train.sbatch" long.ini --log.progress lines --log.metrics "$WORK/long.jsonl" >"$WORK/submit" 2>&1
RC=$?
job=$(awk '/Submitted batch job/ {print $4}' "$WORK/submit")
out=$WORK/long-$job.out
echo "--- job output ($((SECONDS - start)) s)"; grep -E 'train.sbatch|stop requested|resumed|checkpoint|"step"' "$out" | tail -n 12
runs=$(grep -c 'train.sbatch: job .* run ' "$out")
stopped=$(grep -o 'stopped after step [0-9]*' "$out" | head -n 1 | awk '{print $4}')
resumed=$(grep -o 'resumed from [^ ]*step-[0-9]*' "$out" | head -n 1 | grep -o '[0-9]*$')
[[ -n $resumed ]] && resumed=$((10#$resumed))
final=$(grep -o '"step":[0-9]*,"train_loss"' "$out" | tail -n 1 | grep -o '[0-9]*')
[[ $RC -eq 0 ]] && pass "time-limited job completed (status 0)" || fail "time-limited job: status $RC"
[[ $runs -eq 2 ]] && pass "it ran twice (requeued once)" || fail "it ran $runs times"
[[ -n $stopped && $stopped -lt 600 ]] && pass "first run stopped on the signal after step $stopped" || fail "first run did not stop on the signal"
[[ -n $resumed && $resumed == "$stopped" ]] && pass "second run resumed from step $resumed: no step lost" || fail "resumed from '$resumed', stopped after '$stopped'"
[[ $final == 600 ]] && pass "finished all 600 steps" || fail "final step '$final'"

# 3. The federated continual-learning job completes.
if [[ -f $ROOT/cluster/fedcl.sbatch ]]; then
  timeout 600 sbatch --wait -o "$WORK/fedcl-%j.out" --nodes=1 --ntasks-per-node=4 --time=10 \
    "$ROOT/cluster/fedcl.sbatch" "$ROOT/launch/configs/fedcl.ini" --data.name synthetic --fedcl.steps 20 \
    --fedcl.warmup_steps 20 >"$WORK/submit" 2>&1
  RC=$?
  job=$(awk '/Submitted batch job/ {print $4}' "$WORK/submit")
  if [[ $RC -eq 0 ]] && grep -q 'magmax' "$WORK/fedcl-$job.out"; then pass "fedcl.sbatch completed"; else fail "fedcl.sbatch: status $RC"; tail -n 20 "$WORK/fedcl-$job.out"; fi
fi
finish
