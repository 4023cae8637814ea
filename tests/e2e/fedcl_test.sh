#!/usr/bin/env bash
# `sprout fedcl` end to end on the synthetic dataset: node groups of equal and unequal
# sizes, both expert initialisations, the table / JSON / CSV hold every method and round,
# the example config parses, the plot script runs, and bad input ends with one line.
source "$(dirname "$0")/lib.sh"
SYN=(--data.name synthetic --data.synthetic_train 2048 --data.synthetic_test 512 --model.widths 32
     --train.batch 16 --optim.lr 0.05 --fedcl.steps 40 --fedcl.warmup_steps 0)
METHODS=(magmax average task_arithmetic ties)

run 1 --help; grep -q "fedcl" "$WORK/out" && pass "sprout --help lists fedcl" || fail "--help lacks fedcl"
run 1 fedcl --help; expect_rc 0 "fedcl --help"
grep -q -- "--fedcl.nodes" "$WORK/out" && grep -q -- "--model.widths" "$WORK/out" && pass "fedcl --help lists its and the model's options" || fail "fedcl --help"

# check_report NAME ROUNDS: the printed table and the JSON/CSV files of report NAME.
check_report() {
  local name=$1 rounds=$2
  for m in "${METHODS[@]}" sequential joint; do
    grep -qE "^\| $m \| [^|]+ \|( [0-9.]+ \|){$rounds} ([0-9.]+|–) \| [0-9.]+ \|$" "$WORK/out" \
      && pass "$name: table row $m has $rounds rounds and forgetting" || fail "$name: table row for $m"
  done
  grep -q "round $rounds (tasks 0–" "$WORK/out" && ! grep -q "round $((rounds + 1)) (tasks" "$WORK/out" \
    && pass "$name: $rounds round columns" || fail "$name: round columns"
  $PY - "$WORK/$name.json" "$rounds" <<'PYEOF' && pass "$name: JSON has every model in every round" || fail "$name: JSON"
import json, sys
r = json.load(open(sys.argv[1])); rounds = int(sys.argv[2])
models = ["magmax", "average", "task_arithmetic", "ties", "sequential", "joint"]
assert r["models"] == models, r["models"]
assert len(r["rounds"]) == rounds
for rd in r["rounds"]:
    for m in models:
        assert len(rd["accuracy"][m]) == len(rd["seen"]), (m, rd)
        assert all(0 <= a <= 1 for a in rd["accuracy"][m])
assert r["rounds"][-1]["seen"] == list(range(5))
assert all(0.5 < a <= 1 for a in r["expert_accuracy"]), r["expert_accuracy"]
s = r["summary"]
# No merging, no replay: the sequential baseline forgets what joint training keeps.
assert s["sequential"]["final_average_accuracy"] < s["joint"]["final_average_accuracy"] - 0.2, s
PYEOF
  local rows; rows=$(($(wc -l <"$WORK/$name.csv") - 1))
  $PY -c "
import json,sys; r=json.load(open('$WORK/$name.json'))
sys.exit(0 if $rows == sum(6 * (len(rd['seen']) + 1) for rd in r['rounds']) else 1)" \
    && pass "$name: CSV has a row per model, round and task (+avg)" || fail "$name: CSV rows $rows"
}

# 4 ranks = 2 node groups of 2 (data-parallel inside), 5 tasks over 3 rounds.
run 4 fedcl "${SYN[@]}" --fedcl.nodes 2 --fedcl.report "$WORK/two"
expect_rc 0 "fedcl on 2 node groups of 2 ranks"
check_report two 3

# 3 ranks = 3 groups (one rank each), sequential experts, one task per round.
run 3 fedcl "${SYN[@]}" --fedcl.nodes 3 --fedcl.rounds 5 --fedcl.init sequential --fedcl.report "$WORK/seq"
expect_rc 0 "fedcl on 3 node groups, sequential experts, 5 rounds"
check_report seq 5

# 5 ranks = 5 groups: every task in one round; 3 ranks in 2 groups of unequal size.
run 5 fedcl "${SYN[@]}" --fedcl.nodes 5 --fedcl.report "$WORK/five"
expect_rc 0 "fedcl on 5 node groups"
check_report five 1
run 3 fedcl "${SYN[@]}" --fedcl.nodes 2 --fedcl.methods magmax,ties --fedcl.lambda magmax=0.8 --fedcl.baselines false --fedcl.report ""
expect_rc 0 "fedcl on 2 unequal node groups (2 + 1 ranks)"
grep -q "^| magmax | 0.8 |" "$WORK/out" && grep -q "^| ties | 0.55 |" "$WORK/out" && ! grep -q "^| average" "$WORK/out" \
  && pass "methods and lambda options honoured" || fail "methods/lambda"

# The example config (shortened, synthetic data) runs as documented.
# The selection variants: task-specific selection evaluates each task on its own expert, so in
# the round a task is trained its accuracy is that expert's (to one test example).
run 2 fedcl "${SYN[@]}" --fedcl.methods magmax,soft_magmax,random,task_specific --fedcl.baselines false \
  --fedcl.report "$WORK/variants"
expect_rc 0 "fedcl with soft_magmax, random and task_specific"
$PY - "$WORK/variants.json" <<'PYEOF' && pass "task_specific = each task's expert; every variant reported" \
  || fail "selection variants report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["models"] == ["magmax", "soft_magmax", "random", "task_specific"], r["models"]
for rd in r["rounds"]:
    for t in rd["new_tasks"]:
        got = rd["accuracy"]["task_specific"][rd["seen"].index(t)]
        assert abs(got - r["expert_accuracy"][t]) <= 1.0 / 100, (t, got, r["expert_accuracy"][t])
    for m in r["models"]:
        assert all(0 <= a <= 1 for a in rd["accuracy"][m]), (m, rd)
PYEOF
run 2 fedcl "${SYN[@]}" --fedcl.methods task_specific --fedcl.split iid; expect_rc 2 "task_specific with split iid"
expect_err "--fedcl.split: 'iid' must be tasks with method task_specific" "task_specific split message"
run 2 fedcl "${SYN[@]}" --fedcl.methods soft_magmax --fedcl.soft_magmax_temperature 0
expect_rc 2 "soft_magmax temperature 0"
expect_err "--fedcl.soft_magmax_temperature: 0 must be a finite number > 0" "temperature message"

run 4 fedcl --config "$SPROUT_SOURCE_DIR/launch/configs/fedcl.ini" "${SYN[@]}" --fedcl.report "$WORK/ini"
expect_rc 0 "launch/configs/fedcl.ini"
check_report ini 3

if $PY -c "import matplotlib" 2>/dev/null; then
  $PY "$SPROUT_SOURCE_DIR/launch/scripts/fedcl_plot.py" "$WORK/two.json" "$WORK/ini.json" "$WORK/seq.json" --png "$WORK/p.png" \
    --table "$WORK/t.md" >/dev/null 2>&1
  [[ -s "$WORK/p.png" ]] && grep -q "| magmax |" "$WORK/t.md" && pass "fedcl_plot.py writes the plot and table" \
    || fail "fedcl_plot.py"
else
  echo "skip: matplotlib missing, fedcl_plot.py not run"
fi

# Bad input, on 1 and 2 ranks: one line, status 2, promptly.
for np in 1 2; do
  run $np fedcl "${SYN[@]}" --fedcl.nodes 3; expect_rc 2 "3 node groups on $np rank(s)"
  expect_err "--fedcl.nodes: 3 must be in [1, $np]" "node count message ($np)"
  run $np fedcl "${SYN[@]}" --fedcl.nodes 1 --fedcl.methods magmax,magmin; expect_rc 2 "unknown method ($np)"
  expect_err "unknown merge method 'magmin'" "unknown method message ($np)"
  run $np fedcl "${SYN[@]}" --fedcl.nodes 1 --fedcl.lambda magmax=nan; expect_rc 2 "lambda nan ($np)"
  expect_err "'magmax=nan' has no finite number" "lambda message ($np)"
  run $np fedcl "${SYN[@]}" --fedcl.tasks 4 --fedcl.rounds 1 --fedcl.nodes 1; expect_rc 2 "impossible deal ($np)"
  expect_err "--fedcl.rounds: 1 must be in [4, 4]" "rounds message ($np)"
done
finish
