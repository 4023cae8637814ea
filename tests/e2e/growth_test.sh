#!/usr/bin/env bash
# Growth end to end: the example configs grow several sites with GradMax on 2 ranks and end
# at their target widths; every strategy runs from the CLI for MLP and CNN; bad schedules
# end with one line and status 2; a corrupted replica ends the job naming the parameter.
source "$(dirname "$0")/lib.sh"
CONFIGS="$SPROUT_SOURCE_DIR/launch/configs"

# metrics_check FILE PYTHON-EXPR: evaluates EXPR with `events` (the growth lines) and `lines`.
metrics_check() {
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
events = [l for l in lines if l.get("event") == "growth"]
ok = eval(sys.argv[2])
if not ok:
    print("metrics check failed:", sys.argv[2], file=sys.stderr)
    for e in events: print(e, file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
}

# 1. The MLP example: 64-64 -> 256-256 in 4 GradMax growths per site, Fashion-MNIST.
E2E_TIMEOUT=240 run 2 train --config "$CONFIGS/grow_mlp.ini" --log.metrics "$WORK/mlp.jsonl"
expect_rc 0 "grow_mlp.ini on 2 ranks"
[[ $(last_json widths) == '{"fc1": 256, "fc2": 256}' ]] && pass "MLP ends at the target widths" || fail "widths $(last_json widths)"
acc=$(last_json test_accuracy)
$PY -c "import sys; sys.exit(0 if float('$acc') > 0.80 else 1)" && pass "grown MLP accuracy $acc > 0.80" || fail "accuracy $acc"
metrics_check "$WORK/mlp.jsonl" "len(events) == 8 and [e['step'] for e in events] == [150,150,300,300,450,450,600,600] \
  and all(e['strategy'] == 'gradmax' and e['new_width'] - e['old_width'] == 48 and e['grad_norm'] > 0 and e['seconds'] >= 0 for e in events) \
  and {e['site'] for e in events} == {'fc1', 'fc2'}" && pass "8 growth events logged with step, site, widths, time, gradient norm" \
  || fail "growth events in the metrics"
grep -q "^growth step 150  fc1 64 -> 112  gradmax" "$WORK/out" && pass "growth event line printed" || fail "no growth line"

# 1b. Training FLOPs follow the widths: 784-64-64-10 for steps 0-3 (54,912 MACs per example),
# 784-128-64-10 from step 4 (109,184), 16 examples per step: 6·16·(4·54912 + 6·109184).
run 2 train --model.widths 64,64 --train.steps 10 --train.batch 8 --growth.event 4:fc1:+64 --growth.strategy random
expect_rc 0 "a short grown run"
[[ $(last_json train_flops) == 83976192.0 ]] && pass "train_flops counts each step at the model's size then" \
  || fail "train_flops $(last_json train_flops), expected 83976192.0"

# 2. The CNN example (batch-norm, conv->conv, conv->flatten->linear, linear), shortened.
E2E_TIMEOUT=300 run 2 train --config "$CONFIGS/grow_cnn.ini" --train.steps 140 --log.metrics "$WORK/cnn.jsonl"
expect_rc 0 "grow_cnn.ini on 2 ranks"
[[ $(last_json widths) == '{"conv1": 16, "conv2": 48, "fc1": 128}' ]] && pass "CNN ends at its widths" || fail "widths $(last_json widths)"
metrics_check "$WORK/cnn.jsonl" "len(events) == 5 and {e['site'] for e in events} == {'conv1','conv2','fc1'}" \
  && pass "5 CNN growth events" || fail "CNN growth events"

# 3. Every strategy from the CLI, MLP and CNN (synthetic data, 3 ranks for uneven shares).
for strategy in gradmax random zeros net2net vt; do
  run 3 train --data.name synthetic --model.widths 16,8 --train.steps 12 --train.batch 8 \
    --growth.strategy "$strategy" --growth.event 3:fc1:+5 --growth.event 6:fc2:+4 --growth.noise 0.01
  expect_rc 0 "mlp $strategy"
  [[ $(last_json widths) == '{"fc1": 21, "fc2": 12}' ]] || fail "mlp $strategy widths $(last_json widths)"
  run 3 train --data.name synthetic --model.kind cnn --model.conv 4,6 --model.widths 8 --model.batch_norm true \
    --train.steps 10 --train.batch 8 --growth.strategy "$strategy" --growth.event 2:conv1:+3 --growth.event 4:conv2:+2 \
    --growth.event 6:fc1:+3
  expect_rc 0 "cnn $strategy"
  [[ $(last_json widths) == '{"conv1": 7, "conv2": 8, "fc1": 11}' ]] || fail "cnn $strategy widths $(last_json widths)"
done

# 4. Schedules that do not fit: one line naming the option and value, status 2, on 1 and 2 ranks.
for np in 1 2; do
  start=$SECONDS
  run $np train --data.name synthetic --train.steps 20 --growth.event 5:fc7:+4
  expect_rc 2 "unknown site ($np)"; expect_err "--growth.event: '5:fc7:+4': unknown width site 'fc7' (this model has: fc1, fc2)" "unknown site message ($np)"
  run $np train --data.name synthetic --train.steps 20 --growth.event 20:fc1:+4
  expect_rc 2 "step beyond the run ($np)"; expect_err "step 20 is beyond the run (20 steps" "beyond-run message ($np)"
  run $np train --data.name synthetic --train.steps 20 --growth.event 5:fc1:+0
  expect_rc 2 "K = 0 ($np)"; expect_err "--growth.event: '5:fc1:+0': K must be > 0, got 0" "K message ($np)"
  run $np train --data.name synthetic --train.steps 20 --growth.strategy firefly
  expect_rc 2 "unknown strategy ($np)"; expect_err "--growth.strategy: unknown strategy 'firefly'" "strategy message ($np)"
  ((SECONDS - start < 60)) && pass "bad schedules end within seconds ($((SECONDS - start)) s)" || fail "took $((SECONDS - start)) s"
done

# 5. Test hook: rank 1 corrupts its replica during the surgery; the fingerprint check must
# end the job naming the parameter instead of training on.
start=$SECONDS
SPROUT_TEST_CORRUPT_RANK=1 E2E_TIMEOUT=60 run 2 train --data.name synthetic --train.steps 50 --growth.event 5:fc1:+4
expect_nonzero "corrupted replica ends the job"
grep -q "growth step 5 fc1: fc1.weight differs between rank 0 and rank 1" "$WORK/err" \
  && pass "the error names the parameter" || fail "no parameter name in stderr"
grep -q "^step 50/50" "$WORK/out" && fail "training went on after the mismatch" || pass "no training after the mismatch"
((SECONDS - start < 30)) && pass "ended within $((SECONDS - start)) s" || fail "took $((SECONDS - start)) s"
finish
