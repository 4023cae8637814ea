#!/usr/bin/env bash
# `sprout merge` and `--init.from` end to end: a base, experts fine-tuned from it on their
# tasks, merged offline on 1-3 ranks (identical results; magmax checked against numpy),
# the merged file inspected, fine-tuned and resumed; fedcl's saved experts merged offline
# give fedcl's own merged model; bad input ends with one line.
source "$(dirname "$0")/lib.sh"
D=(--data.name synthetic --data.synthetic_train 2048 --data.synthetic_test 512 --train.batch 16)
S=("${D[@]}" --model.widths 32 --log.progress none)   # sprout train
F=("${D[@]}" --model.widths 32)                       # sprout fedcl (its inner runs are quiet)
cd "$WORK"

run 2 train "${S[@]}" --train.steps 30 --checkpoint.dir base --checkpoint.at_end true
expect_rc 0 "base training"
BASE=base/step-00000030.h5
for t in 0 1 2; do
  run 2 train "${S[@]}" --train.steps 20 --init.from $BASE --data.classes $((2 * t)),$((2 * t + 1)) \
    --checkpoint.dir e$t --checkpoint.at_end true
  expect_rc 0 "expert $t via --init.from"
done
grep -q "init.from: $BASE (mlp 784-32-10)" "$WORK/err" && pass "init.from names the file and architecture" || fail "init.from note"
[[ $(last_json step) == 20 ]] && pass "init.from starts a new run at step 0" || fail "step $(last_json step)"
EXPERTS=e0/step-00000020.h5,e1/step-00000020.h5,e2/step-00000020.h5

for np in 1 2 3; do
  run $np merge --method magmax --base $BASE --experts $EXPERTS --out m$np.h5
  expect_rc 0 "merge on $np rank(s)"
done
$PY - <<'PYEOF' && pass "magmax file = numpy formula, bit for bit, on 1, 2 and 3 ranks" || fail "magmax vs numpy"
import h5py, numpy as np
b = h5py.File("base/step-00000030.h5"); e = [h5py.File(f"e{i}/step-00000020.h5") for i in range(3)]
outs = [h5py.File(f"m{n}.h5") for n in (1, 2, 3)]
for name in ["model/fc1/weight", "model/fc1/bias", "model/fc2/weight", "model/fc2/bias"]:
    base = b[name][()].astype(np.float64)
    t = np.stack([x[name][()].astype(np.float64) - base for x in e])
    hi, lo = t.max(0), t.min(0)
    want = (base + 0.5 * np.where(np.abs(hi) >= np.abs(lo), hi, lo)).astype(np.float32)
    for o in outs:
        assert np.array_equal(o[name][()], want), name
m = outs[0]["merge"].attrs
assert m["method"] in (b"magmax", "magmax") and m["lambda"] == 0.5 and m["experts"] == 3
PYEOF
run 1 inspect m2.h5; expect_rc 0 "sprout inspect on the merged file"
grep -q "verdict *ok" "$WORK/out" && grep -q "merged" "$WORK/out" && pass "inspect: checksums ok, tag merged" || fail "inspect"
for method in average task_arithmetic ties; do
  run 2 merge --method $method --base $BASE --experts e0/step-00000020.h5 --experts e1/step-00000020.h5 --out $method.h5
  expect_rc 0 "merge --method $method (repeated --experts)"
done
# The selection variants against numpy and the experts' files.
run 2 merge --method soft_magmax --soft_magmax.temperature 0.003 --base $BASE --experts $EXPERTS --out soft.h5
expect_rc 0 "merge --method soft_magmax"
run 1 merge --method task_specific --task_specific.expert 1 --base $BASE --experts $EXPERTS --out ts.h5
expect_rc 0 "merge --method task_specific"
for np in 1 3; do
  run $np merge --method random --random.seed 5 --base $BASE --experts $EXPERTS --out rnd$np.h5
  expect_rc 0 "merge --method random on $np rank(s)"
done
$PY - <<'PYEOF' && pass "soft_magmax = numpy softmax formula; task_specific = the expert; random draws experts' entries" \
  || fail "selection variants vs numpy"
import h5py, numpy as np
b = h5py.File("base/step-00000030.h5"); e = [h5py.File(f"e{i}/step-00000020.h5") for i in range(3)]
soft, ts, r1, r3 = (h5py.File(f) for f in ("soft.h5", "ts.h5", "rnd1.h5", "rnd3.h5"))
drawn = np.zeros(3)
for name in ["model/fc1/weight", "model/fc1/bias", "model/fc2/weight", "model/fc2/bias"]:
    base = b[name][()].astype(np.float64)
    x = np.stack([f[name][()] for f in e])
    t = x.astype(np.float64) - base
    a = np.abs(t)
    w = np.exp((a - a.max(0)) / 0.003)
    want = (base + 0.5 * (w * t).sum(0) / w.sum(0)).astype(np.float32)
    assert np.allclose(soft[name][()], want, rtol=1e-6, atol=1e-7), name
    assert np.array_equal(ts[name][()], x[1]), name
    got = r1[name][()]
    assert np.array_equal(got, r3[name][()]), name
    hit = got[None] == x
    assert hit.any(0).all(), name
    drawn += hit.sum(axis=tuple(range(1, hit.ndim)))
assert (drawn > drawn.sum() / 3 * 0.8).all(), drawn
PYEOF
run 2 merge --method task_specific --task_specific.expert 3 --base $BASE --experts $EXPERTS --out bad.h5
expect_rc 2 "task_specific.expert out of range"
expect_err "task_specific.expert: 3 but the merge has 3 experts" "task_specific.expert message"
run 1 merge --method average --base $BASE --experts $EXPERTS --out avg1.h5; expect_rc 0 "merge --method average"
grep -q "with average: " "$WORK/out" && ! grep -q lambda "$WORK/out" && pass "average prints no lambda" \
  || fail "average summary: $(cat "$WORK/out")"
run 2 train "${S[@]}" --train.steps 10 --init.from m2.h5; expect_rc 0 "fine-tune the merged model (--init.from)"
init_loss=$(last_json train_loss)
run 2 train "${S[@]}" --train.steps 10 --resume m2.h5 --checkpoint.dir r; expect_rc 0 "resume from the merged model"
[[ $(last_json train_loss) == "$init_loss" ]] && pass "resume of a merged file = init.from (step 0, fresh optimizer)" \
  || fail "resume $(last_json train_loss) vs init $init_loss"

# fedcl.save_dir: the saved experts merged offline give fedcl's collective merge.
run 4 fedcl "${F[@]}" --optim.lr 0.05 --fedcl.steps 30 --fedcl.warmup_steps 10 --fedcl.save_dir fs --fedcl.report ""
expect_rc 0 "fedcl with fedcl.save_dir"
[[ $(ls fs/round-*/expert-task-*.h5 | wc -l) == 5 && $(ls fs/round-*/{magmax,average,task_arithmetic,ties}.h5 | wc -l) == 12 \
   && -s fs/base.h5 ]] && pass "save_dir holds the base, 5 experts and 12 merged models" || fail "save_dir: $(find fs)"
ALL=$(ls fs/round-*/expert-task-*.h5 | sort -t- -k4 -n | paste -sd,)
for method in magmax ties; do
  run 3 merge --method $method --base fs/base.h5 --experts "$ALL" --out off-$method.h5
  expect_rc 0 "offline merge of fedcl's experts ($method)"
done
$PY - <<'PYEOF' && pass "offline = collective: magmax bit for bit, ties to rounding" || fail "offline vs collective"
import h5py, numpy as np
for method, exact in (("magmax", True), ("ties", False)):
    a, b = h5py.File(f"off-{method}.h5"), h5py.File(f"fs/round-3/{method}.h5")
    for name in ["model/fc1/weight", "model/fc1/bias", "model/fc2/weight", "model/fc2/bias"]:
        x, y = a[name][()], b[name][()]
        assert (np.array_equal(x, y) if exact else np.allclose(x, y, rtol=1e-6, atol=1e-7)), (method, name)
PYEOF
run 2 fedcl "${F[@]}" --fedcl.base fs/base.h5 --fedcl.steps 10 --fedcl.baselines false --fedcl.report ""
expect_rc 0 "fedcl --fedcl.base"
grep -q "base θ0 (checkpoint fs/base.h5)" "$WORK/out" && pass "fedcl.base used" || fail "fedcl.base"

# Bad input: one line, promptly, nothing written.
run 2 train "${D[@]}" --log.progress none --model.widths 16 --train.steps 5 --checkpoint.dir narrow --checkpoint.at_end true
run 2 merge --method magmax --base $BASE --experts e0/step-00000020.h5,narrow/step-00000005.h5 --out bad.h5
expect_rc 2 "another architecture"; expect_err "has architecture" "architecture message"
run 2 train "${S[@]}" --train.steps 5 --train.seed 9 --checkpoint.dir base2 --checkpoint.at_end true
run 2 merge --method magmax --base base2/step-00000005.h5 --experts e0/step-00000020.h5 --out bad.h5
expect_rc 2 "another base"; expect_err "was fine-tuned from '$BASE' (--init.from), whose weights differ" "base message"
run 2 merge --method magmin --base $BASE --experts $EXPERTS --out bad.h5
expect_rc 2 "unknown method"; expect_err "unknown merge method 'magmin'" "method message"
run 2 merge --method magmax --lambda nan --base $BASE --experts $EXPERTS --out bad.h5
expect_rc 2 "lambda nan"; expect_err "--lambda: 'nan' is not a finite number" "lambda message"
run 2 merge --method average --lambda 0.5 --base $BASE --experts $EXPERTS --out bad.h5
expect_rc 2 "lambda for average"; expect_err "average has no lambda" "average lambda message"
run 2 merge --method magmax --base $BASE --experts e0/step-00000020.h5,nothere.h5 --out bad.h5
expect_nonzero "missing expert file"; expect_err "'nothere.h5' does not exist" "missing file message"
run 2 merge --method magmax --base $BASE --experts $EXPERTS
expect_rc 2 "no --out"; expect_err "--out is required" "out message"
[[ ! -e bad.h5 && ! -e bad.h5.tmp ]] && pass "no output after a failed merge" || fail "bad.h5 written"
# An output is never an input, however it is spelt (compared by device and inode).
ln -s "$WORK/e1/step-00000020.h5" link.h5; ln e1/step-00000020.h5 hard.h5
sum=$(md5sum <e1/step-00000020.h5)
for out in ./e1/step-00000020.h5 "$WORK/e1/step-00000020.h5" e1//step-00000020.h5 e0/../e1/step-00000020.h5 \
           link.h5 hard.h5 "./$BASE"; do
  run 1 merge --method magmax --base $BASE --experts $EXPERTS --out "$out"
  expect_rc 2 "--out $out (an input)"; expect_err "is the same file as" "--out $out names the input"
done
[[ $(md5sum <e1/step-00000020.h5) == "$sum" ]] && pass "the inputs are untouched" || fail "an input was overwritten"
run 1 train "${S[@]}" --train.steps 5 --init.from ./e1/step-00000020.h5 --checkpoint.dir e1/ --checkpoint.every 1 \
  --checkpoint.keep 1
expect_rc 2 "--init.from inside checkpoint.dir"; expect_err "which this run's checkpoints would overwrite or prune" \
  "init.from vs checkpoint.dir message"
[[ $(md5sum <e1/step-00000020.h5) == "$sum" ]] && pass "init.from input untouched" || fail "init.from input pruned"
run 2 fedcl "${F[@]}" --fedcl.base ./fs//base.h5 --fedcl.save_dir fs --fedcl.steps 1 --fedcl.baselines false \
  --fedcl.report ""
expect_rc 2 "--fedcl.base inside fedcl.save_dir"; expect_err "that fedcl.save_dir would overwrite" "fedcl.base message"
# Every written model is finite: a merge that overflows is refused, nothing is written.
run 1 merge --method magmax --lambda 1e308 --base $BASE --experts $EXPERTS --out inf.h5
expect_rc 2 "lambda 1e308"; expect_err "holds Inf or NaN" "non-finite merge message"
[[ ! -e inf.h5 && ! -e inf.h5.tmp ]] && pass "no non-finite model written" || fail "inf.h5 written"
run 2 train "${S[@]}" --init.from nothere.h5; expect_rc 2 "init.from a missing file"
expect_err "--init.from: 'nothere.h5' is not a checkpoint file" "init.from message"
echo "not hdf5" >junk.h5
run 2 train "${S[@]}" --init.from junk.h5; expect_rc 1 "init.from a non-checkpoint"
expect_err "--init.from: checkpoint 'junk.h5': not a readable HDF5 file" "init.from junk message"
finish
