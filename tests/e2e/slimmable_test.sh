#!/usr/bin/env bash
# Slimmable training end to end on 2 ranks (MLP and CNN example configs, shortened, and a
# small ResNet whose residual groups slim too, a small ViT whose stream and heads do): the
# per-width table, the dynamic and the oracle rows are printed and written to the metrics file, the
# MACs grow with the width, and bad slim.* input ends promptly with one clear line.
source "$(dirname "$0")/lib.sh"
CONFIGS="$SPROUT_SOURCE_DIR/launch/configs"

# rows FILE: the slimmable_eval rows of a metrics file as "width accuracy macs" lines.
rows() {
  $PY -c "
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j.get('event') == 'slimmable_eval':
        print(j['width'], j['test_accuracy'], j['macs_per_example'], sum(j.get('route_share', [1])))
" "$1"
}

# eval_matches_table EVAL_JSON ROWS: sprout eval's per-width rows equal the training run's table.
eval_matches_table() {
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
rows = json.load(open(sys.argv[1]))["widths"]
train = [l.split() for l in open(sys.argv[2])]
assert [r["width"] for r in rows] == [t[0] for t in train], (rows, train)
for r, t in zip(rows, train):
    assert abs(r["test_accuracy"] - float(t[1])) < 1e-9 and abs(r["macs_per_example"] - float(t[2])) < 1e-6, (r, t)
PYEOF
}

check_table() {  # check_table NAME MIN_ACCURACY
  local name=$1 min=$2
  rows "$WORK/$name.jsonl" >"$WORK/$name.rows" || { fail "$name: metrics not readable"; return; }
  [[ $(wc -l <"$WORK/$name.rows") -eq 6 ]] && pass "$name: 4 widths + dynamic + oracle rows" || fail "$name: rows $(cat "$WORK/$name.rows")"
  [[ $(grep -c "^slimmable width" "$WORK/out") -eq 6 ]] && pass "$name: table printed" || fail "$name: table not printed"
  $PY - "$WORK/$name.rows" "$min" <<'PYEOF' && pass "$name: MACs ascend with width, accuracies > $min, routes sum to 1" || fail "$name: table $(cat "$WORK/$name.rows")"
import sys
rows = [l.split() for l in open(sys.argv[1])]
fixed = [(float(a), float(m)) for w, a, m, s in rows[:4]]
dyn, oracle = rows[4], rows[5]
assert [r[0] for r in rows] == ['0.25', '0.5', '0.75', '1', 'dynamic', 'oracle'], rows
assert all(m1 < m2 for (_, m1), (_, m2) in zip(fixed, fixed[1:])), fixed
assert all(a > float(sys.argv[2]) for a, _ in fixed), fixed
assert fixed[0][1] <= float(dyn[2]) <= fixed[3][1] * 1.1, dyn
assert abs(float(dyn[3]) - 1) < 1e-9, dyn
assert fixed[0][1] <= float(oracle[2]) <= fixed[3][1], oracle
assert float(oracle[1]) >= max(fixed[0][0], fixed[3][0]) - 1e-9, oracle  # either width's correct examples
PYEOF
}

run 2 train --config "$CONFIGS/slimmable_mlp.ini" --train.epochs 0.5 --slim.gate_steps 60 --log.progress lines \
  --log.metrics "$WORK/mlp.jsonl" --checkpoint.dir "$WORK/ck" --checkpoint.every 100 --checkpoint.at_end true
expect_rc 0 "slimmable MLP on 2 ranks"
check_table mlp 0.70
[[ $(last_json world_size) == 2 ]] && pass "summary is the last line" || fail "summary"

# sprout eval on the checkpoint, on 3 ranks: the same numbers as the training run's table.
run 3 eval --checkpoint "$WORK/ck" --width all
expect_rc 0 "sprout eval --checkpoint DIR on 3 ranks"
tail -n 1 "$WORK/out" >"$WORK/eval.json"
eval_matches_table "$WORK/eval.json" "$WORK/mlp.rows" && pass "eval reproduces the training table (accuracy, MACs, routes)" \
  || fail "eval differs: $(cat "$WORK/eval.json")"
run 2 eval --checkpoint "$WORK/ck" --width 0.5
expect_rc 0 "sprout eval --width 0.5"
[[ $(last_json widths | $PY -c "import json,sys; print(json.load(sys.stdin)[0]['width'])") == 0.5 ]] \
  && pass "one row for --width 0.5" || fail "eval --width 0.5: $(tail -n 1 "$WORK/out")"
# Routing by the gate's cumulative probability: one more row per confidence, and wider
# (never narrower) routing as the confidence grows.
run 2 eval --checkpoint "$WORK/ck" --width dynamic --gate_confidence 0.5,0.9,1
expect_rc 0 "sprout eval --gate_confidence"
last_json widths | $PY -c "
import json, sys
rows = json.load(sys.stdin)
assert [r['width'] for r in rows] == ['dynamic', 'dynamic@0.5', 'dynamic@0.9', 'dynamic@1'], rows
macs = [r['macs_per_example'] for r in rows[1:]]
assert macs == sorted(macs), macs
" && pass "one row per gate confidence, MACs non-decreasing in the confidence" || fail "gate confidence rows: $(tail -n 1 "$WORK/out")"
run 2 eval --checkpoint "$WORK/ck" --width dynamic --gate_confidence 1.5
expect_rc 2 "gate confidence out of range"; expect_err "--gate_confidence: 1.5 must be in (0, 1]" "gate confidence message"
run 2 eval --checkpoint "$WORK/ck" --width 0.5 --gate_confidence 0.9
expect_rc 2 "gate confidence without dynamic routing"; expect_err "--gate_confidence: needs --width dynamic or all (not '0.5')" "gate confidence width message"
run 2 eval --checkpoint "$WORK/ck/step-00000100.h5" --width dynamic
expect_rc 2 "dynamic before the gate stage"; expect_err "was never trained" "untrained gate message"
run 2 eval --checkpoint "$WORK/ck" --width 0.3
expect_rc 2 "a ratio the run did not train"; expect_err "--width: '0.3' is not all, dynamic, oracle nor one of the run's ratios (0.25, 0.5, 0.75, 1)" "bad width message"
run 1 eval --width 1
expect_rc 2 "eval without a checkpoint"; expect_err "--checkpoint: a checkpoint file is required" "missing checkpoint message"
# A slimmable run resumes from its checkpoint (the restore knows the per-width statistics and the gate).
run 2 train --config "$CONFIGS/slimmable_mlp.ini" --train.epochs 0.5 --slim.gate_steps 60 --log.progress lines \
  --checkpoint.dir "$WORK/ck" --resume "$WORK/ck/step-00000100.h5"
expect_rc 0 "slimmable run resumed from step 100"
grep -q "resumed from .*step-00000100.h5 at step 100" "$WORK/out" && pass "resume message" || fail "no resume message"

E2E_TIMEOUT=300 run 2 train --config "$CONFIGS/slimmable_cnn.ini" --train.steps 60 --slim.gate_steps 20 \
  --log.progress lines --log.metrics "$WORK/cnn.jsonl"
expect_rc 0 "slimmable CNN on 2 ranks"
check_table cnn 0.40

# ResNet: the residual groups (stages) slim with the inner widths, so the per-width MACs
# shrink the stream too (at 0.25 under a tenth of the full model's, not the 28 % of inner
# widths alone); the checkpoint holds the stream's per-width statistics, and sprout eval
# on 3 ranks reproduces the training run's table from it.
R=(--data.name synthetic --data.synthetic_train 256 --data.synthetic_test 64 --train.batch 8 --model.kind resnet
   --model.stages 8,16,32 --model.stem 8 --train.mode slimmable --train.steps 8 --slim.gate_steps 4
   --log.progress lines)
run 2 train "${R[@]}" --log.metrics "$WORK/resnet.jsonl" --checkpoint.dir "$WORK/rck" --checkpoint.at_end true
expect_rc 0 "slimmable ResNet on 2 ranks"
rows "$WORK/resnet.jsonl" >"$WORK/resnet.rows"
$PY - "$WORK/resnet.rows" <<'PYEOF' && pass "ResNet: 6 rows, per-width MACs shrink the stream: $(cut -d' ' -f3 "$WORK/resnet.rows" | head -4 | xargs)" || fail "ResNet table $(cat "$WORK/resnet.rows")"
import sys
rows = [l.split() for l in open(sys.argv[1])]
assert [r[0] for r in rows] == ['0.25', '0.5', '0.75', '1', 'dynamic', 'oracle'], rows
macs = [float(r[2]) for r in rows[:4]]
assert all(a < b for a, b in zip(macs, macs[1:])), macs
assert macs[0] < 0.1 * macs[3], macs  # every 3x3 conv at a quarter of its inputs and outputs
PYEOF
$PY - "$WORK/rck" <<'PYEOF' && pass "ResNet checkpoint holds the stream's per-width statistics" || fail "ResNet checkpoint buffers"
import glob, h5py, sys
f = h5py.File(sorted(glob.glob(sys.argv[1] + "/step-*.h5"))[-1], "r")
for bn in ("block1/bn1", "block2/bn1", "block3/bn1", "bn_final"):
    mean = f[f"buffers/{bn}/running_mean_r0p25"]
    assert mean.shape == f[f"buffers/{bn}/running_mean"].shape, bn
PYEOF
run 3 eval --checkpoint "$WORK/rck" --width all
expect_rc 0 "sprout eval of the slimmable ResNet on 3 ranks"
tail -n 1 "$WORK/out" >"$WORK/reval.json"
eval_matches_table "$WORK/reval.json" "$WORK/resnet.rows" && pass "ResNet eval reproduces the training table" \
  || fail "ResNet eval differs: $(cat "$WORK/reval.json")"

# A small ViT: the stream and every block's heads slim with the MLPs (at 0.25 under a quarter
# of the full MACs, where the MLPs alone would leave two thirds), and the gate routes.
V=(--data.name synthetic --data.synthetic_train 256 --data.synthetic_test 64 --train.batch 8 --model.kind vit
   --model.dim 16 --model.heads 4 --model.mlp 16 --model.depth 2 --train.mode slimmable --train.steps 8
   --slim.gate_steps 4 --log.progress lines)
run 2 train "${V[@]}" --log.metrics "$WORK/vit.jsonl"
expect_rc 0 "slimmable ViT on 2 ranks"
rows "$WORK/vit.jsonl" >"$WORK/vit.rows"
$PY - "$WORK/vit.rows" <<'PYEOF' && pass "ViT: 6 rows, per-width MACs shrink the stream and heads: $(cut -d' ' -f3 "$WORK/vit.rows" | head -4 | xargs)" || fail "ViT table $(cat "$WORK/vit.rows")"
import sys
rows = [l.split() for l in open(sys.argv[1])]
assert [r[0] for r in rows] == ['0.25', '0.5', '0.75', '1', 'dynamic', 'oracle'], rows
macs = [float(r[2]) for r in rows[:4]]
assert all(a < b for a, b in zip(macs, macs[1:])), macs
assert macs[0] < 0.25 * macs[3], macs
assert abs(float(rows[4][3]) - 1) < 1e-9, rows[4]  # every test example routed once
PYEOF

# Bad input, on 1 and 2 ranks.
for np in 1 2; do
  run $np train --train.mode slim;            expect_rc 2 "unknown mode ($np)";    expect_err "--train.mode: 'slim' is not a training mode" "mode message ($np)"
  run $np train --slim.ratios 0.5,0.25,1;     expect_rc 2 "unsorted ratios ($np)"; expect_err "--slim.ratios: ratios must be ascending" "ratios message ($np)"
  run $np train --slim.ratios 0.5,0.75;       expect_rc 2 "no full width ($np)";   expect_err "--slim.ratios: the largest ratio must be 1" "largest message ($np)"
  run $np train --slim.distill teacher;       expect_rc 2 "bad distill ($np)";     expect_err "--slim.distill: 'teacher'" "distill message ($np)"
  run $np train --train.mode slimmable --growth.event 10:fc1:+8 --data.name synthetic
  expect_rc 2 "slimmable with growth ($np)"; expect_err "--train.mode: slimmable cannot be combined with growth events" "growth message ($np)"
  run $np train --slim.gate_steps -1;         expect_rc 2 "negative gate steps ($np)"; expect_err "--slim.gate_steps: -1 must be >= 0" "gate steps message ($np)"
done
finish
