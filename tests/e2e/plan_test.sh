#!/usr/bin/env bash
# `sprout bench calibrate`, `sprout plan` and runtime.allreduce through the CLI:
# calibrate writes a calibration file; plan prints the per-width memory (peak marked) and
# the step table for N = 1 … 1024, writes its CSV and PNG, and refuses a plan that cannot
# fit (and bad options) with one line and status 2; training with
# runtime.allreduce=hierarchical logs the same losses, bit for bit, as the ring on 2 ranks
# (one node of two: the sum order coincides) and close ones on 4 ranks in 2 faked nodes.
source "$(dirname "$0")/lib.sh"

# 1. Calibration (small and quick: the numbers only need to be there).
CAL="$WORK/cal.json"
run 2 bench calibrate --out "$CAL" --arch "kind=mlp;in=1x28x28;classes=10;widths=64" --batch 16 --steps 2 --warmup 1 \
  --max_bytes 65536 --reps 1 --checkpoint_mb 2 --dir "$WORK"
expect_rc 0 "bench calibrate on 2 ranks"
$PY - "$CAL" <<'PYEOF' && pass "calibration has compute, links, collectives, checkpoint" || fail "calibration file incomplete"
import json, sys
c = json.load(open(sys.argv[1]))
ok = c["compute"]["seconds_per_example"] > 0 and c["links"]["node"]["beta_s_per_byte"] > 0 and \
     c["links"]["node"]["source"].startswith("measured") and len(c["collectives"]) >= 2 and \
     all(r["ring_allreduce_s"] > 0 for r in c["collectives"]) and c["checkpoint_write_bytes_per_s"] > 0
sys.exit(0 if ok else 1)
PYEOF

# 2. A plan: every width of the schedule, the peak marked; N = 1 .. 1024; CSV and PNG.
PLAN=(plan --plan.calibration "$CAL" --model.widths 32,32 --growth.event 5:fc1:+96 --train.batch 16
      --optim.name adamw --optim.shard state --plan.ranks_per_node 4 --plan.memory_gb 4)
run 1 "${PLAN[@]}" --plan.out "$WORK/plan"
expect_rc 0 "plan with a growth schedule"
grep -q "784-128-32-10.*<- peak" "$WORK/out" && pass "the grown width is the peak" || fail "no peak mark on the grown width"
rows=$(grep -cE "^ +[0-9]+ +[0-9]+ +[0-9.]+ +yes" "$WORK/out")
[[ $rows -eq 11 ]] && pass "11 rows, N = 1 .. 1024" || fail "$rows rows in the step table"
[[ -s "$WORK/plan.csv" && -s "$WORK/plan.png" ]] && pass "CSV and PNG written" || fail "plan.csv / plan.png missing"
grep -q "crossover" "$WORK/out" && pass "crossover reported" || fail "no crossover section"

# 3. Refusals: one line, status 2.
run 2 bench calibrate --batch 0 --out "$WORK/never.json"
expect_rc 2 "calibrate --batch 0"; expect_err "--batch: 0 must be in [1, 1000000]" "named"
run 1 bench calibrate --arch "kind=mlp;widths=0" --out "$WORK/never.json"
expect_rc 2 "calibrate with a bad model"; expect_err "widths" "named"
run 1 "${PLAN[@]}" --plan.memory_gb 0.0001
expect_rc 2 "a plan that does not fit"; expect_err "lower train.batch" "it names what to change"
run 1 "${PLAN[@]}" --plan.max_ranks 0
expect_rc 2 "plan.max_ranks=0"; expect_err "--plan.max_ranks: 0 must be in [1, 65536]" "named"
run 1 plan --model.widths 32
expect_rc 2 "no calibration"; expect_err "--plan.calibration: required" "named"
echo '{"host": "x"}' > "$WORK/bad.json"
run 1 plan --plan.calibration "$WORK/bad.json"
expect_rc 2 "a malformed calibration"; expect_err "bad.json" "named"
run 2 train --data.name synthetic --train.steps 2 --runtime.allreduce tree
expect_rc 2 "runtime.allreduce=tree"; expect_err "--runtime.allreduce must be auto, ring, hierarchical or mpi, got 'tree'" "named"
run 2 train --data.name synthetic --train.steps 2 --runtime.ranks_per_node -1
expect_rc 2 "runtime.ranks_per_node=-1"; expect_err "--runtime.ranks_per_node: -1" "named"

# 4. Hierarchical against the ring: bitwise on one node of 2 ranks, close on 2 nodes of 2.
TRAIN=(train --data.name synthetic --train.steps 6 --train.batch 16 --model.widths 200,64 --train.log_every 1
       --log.progress none --runtime.ranks_per_node 2)
for spec in "2 ring" "2 hierarchical" "4 ring" "4 hierarchical"; do
  set -- $spec
  run $1 "${TRAIN[@]}" --runtime.allreduce $2 --log.metrics "$WORK/m_$1_$2.jsonl"
  expect_rc 0 "$1 ranks, runtime.allreduce=$2"
done
losses() { $PY -c "import json,sys; print(' '.join(repr(json.loads(l)['train_loss']) for l in open(sys.argv[1]) if '\"train_loss\"' in l))" "$1"; }
a=$(losses "$WORK/m_2_ring.jsonl"); b=$(losses "$WORK/m_2_hierarchical.jsonl")
[[ -n "$a" && "$a" == "$b" ]] && pass "2 ranks: hierarchical losses = ring losses, bitwise ($a)" || fail "2 ranks: '$a' vs '$b'"
$PY - "$(losses "$WORK/m_4_ring.jsonl")" "$(losses "$WORK/m_4_hierarchical.jsonl")" <<'PYEOF' &&
import sys
a, b = [list(map(float, s.split())) for s in sys.argv[1:]]
print("4 ranks ring:", a, "hierarchical:", b)
sys.exit(0 if a and len(a) == len(b) and all(abs(x - y) <= 1e-4 * abs(x) for x, y in zip(a, b)) else 1)
PYEOF
  pass "4 ranks in 2 nodes: hierarchical losses within 1e-4 of the ring's" || fail "4 ranks: losses differ"
finish
