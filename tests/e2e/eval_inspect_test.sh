#!/usr/bin/env bash
# `sprout eval` and `sprout inspect` on every kind of checkpoint, and the metrics file:
#  - eval takes a plain checkpoint (and its directory) and gives the run's final accuracy;
#  - inspect takes a directory (the checkpoint `latest` names), and its verdict is the
#    validation --init.from applies: a model without optimizer state or growth history is
#    ok (not resumable), and --init.from starts from it;
#  - every metrics row has "event" and "time"; the final evaluation is the last row.
# (Slimmable and adaptive checkpoints: tests/e2e/slimmable_test.sh, adaptive_test.sh.)
source "$(dirname "$0")/lib.sh"

SMALL=(--data.name synthetic --data.synthetic_train 512 --data.synthetic_test 256 --model.widths 16 --train.batch 16
       --log.progress none)
run 2 train "${SMALL[@]}" --train.steps 20 --train.log_every 5 --train.eval_every 10 --log.metrics "$WORK/m.jsonl" \
  --checkpoint.dir "$WORK/ck" --checkpoint.at_end true
expect_rc 0 "a plain run with a checkpoint"
acc=$(last_json test_accuracy); loss=$(last_json test_loss)

# --- metrics rows: event and time; the final evaluation in the file --------------------------
$PY - "$WORK/m.jsonl" "$acc" "$loss" <<'EOF' && pass "metrics rows carry event and time; the final evaluation is the last row" || fail "metrics rows"
import json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
print([r["event"] for r in rows])
assert all("event" in r and abs(r["time"] - time.time()) < 600 for r in rows), rows
assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
assert [r["step"] for r in rows if r["event"] == "train"] == [5, 10, 15, 20]
assert [r["step"] for r in rows if r["event"] == "eval"] == [10]
final = rows[-1]
assert final["event"] == "final" and final["step"] == 20, final
assert repr(final["test_accuracy"]) == sys.argv[2] and repr(final["test_loss"]) == sys.argv[3], (final, sys.argv[2:])
assert final["test_examples"] == 256, final
EOF

# --- eval: a plain checkpoint, by file and by directory ------------------------------------
for target in "$WORK/ck" "$WORK/ck/$(cat "$WORK/ck/latest")"; do
  run 2 eval --checkpoint "$target"
  expect_rc 0 "eval of a plain checkpoint (${target#"$WORK/"})"
  [[ $(last_json test_accuracy) == "$acc" && $(last_json test_loss) == "$loss" ]] \
    && pass "eval: the run's final accuracy and loss ($acc, $loss)" \
    || fail "eval accuracy $(last_json test_accuracy), loss $(last_json test_loss); the run's $acc, $loss"
done
grep -q "^eval width full *accuracy" "$WORK/out" && pass "eval prints one row" || fail "eval row"
run 2 eval --checkpoint "$WORK/ck" --width 0.5
expect_rc 2 "--width on a plain checkpoint"; expect_err "need a slimmable checkpoint" "--width message"

# --- inspect: a directory, and the verdict --init.from shares --------------------------------
run 2 inspect "$WORK/ck"
expect_rc 0 "inspect DIR"
grep -q "^checkpoint  *$WORK/ck/step-00000020.h5" "$WORK/out" && pass "inspect DIR reads the latest checkpoint" \
  || fail "inspect DIR: which file"
grep -q "^resume  *yes" "$WORK/out" && grep -q "^verdict  *ok" "$WORK/out" && pass "inspect: ok, resumable" \
  || fail "inspect verdict"
mkdir -p "$WORK/empty"
run 2 inspect "$WORK/empty"
expect_rc 2 "inspect of a directory without checkpoints"; expect_err "has no \`latest\` checkpoint" "empty directory message"

# A model only: no optimizer state, data position nor growth history (as a model converted
# from elsewhere may be). --init.from takes it; inspect must call it ok too.
cp "$WORK/ck/step-00000020.h5" "$WORK/model.h5"
$PY - "$WORK/model.h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], 'a') as f:
    for name in ('optimizer', 'growth', 'data'):
        del f[name]
EOF
run 2 train "${SMALL[@]}" --train.steps 4 --init.from "$WORK/model.h5"
expect_rc 0 "--init.from a model without optimizer state"
run 2 inspect "$WORK/model.h5"
expect_rc 0 "inspect agrees: a usable model"
grep -q "^resume  *no: missing /optimizer, missing /data, missing /growth/history" "$WORK/out" \
  && pass "inspect: not resumable, and why" || fail "inspect resume line"
run 2 eval --checkpoint "$WORK/model.h5"
expect_rc 0 "eval of the model-only file"

# Damaged: both refuse.
cp "$WORK/ck/step-00000020.h5" "$WORK/bad.h5"
$PY - "$WORK/bad.h5" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], 'a') as f:
    w = f['model/fc1/weight']
    w[0, 0] = w[0, 0] + 1.0  # the stored checksum no longer matches
EOF
run 2 inspect "$WORK/bad.h5"; expect_rc 1 "inspect of a damaged model"
run 2 train "${SMALL[@]}" --train.steps 4 --init.from "$WORK/bad.h5"; expect_rc 1 "--init.from refuses it too"
finish
