#!/usr/bin/env bash
# Automatic growth end to end (growth/README.md "Automatic growth"): the same decisions —
# step, group, units — on 1, 2 and 3 ranks for the same seed and global batch; each
# decision logged with its evidence (a line on rank 0, a metrics row); the plateau
# detector's state survives a checkpoint (a resumed run decides as the uninterrupted one,
# on 2 ranks to the same final loss, on 3 ranks the same decisions); the budget stops
# growth; a ViT's MLP sites and heads are candidates; a small ResNet's stages compete with its
# block sites, grow in depth and width with the same decisions on 1, 2 and 3 ranks and are
# recorded in the checkpoint (a run resumed after a depth decision continues as the uninterrupted
# one); the refusals that need the model end the job with one line and
# status 2 (each option's own check: the unit tests).
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

# A 784-8-8-10 MLP on Fashion-MNIST, global batch 48, windows of 10 steps: a plateau is 2
# windows without a 2% improvement; growth by half a group's width, up to 7,100 parameters.
A=(train --model.widths 8,8 --train.steps 360 --optim.lr 0.05 --train.log_every 1000 --log.progress lines
   --growth.auto true --growth.window 10 --growth.patience 2 --growth.min_delta 0.02 --growth.cooldown 20
   --growth.auto_fraction 0.5 --growth.max_params 7100 --growth.batch 96)

# decisions FILE: one line per automatic decision: step, chosen group, units added.
decisions() {
  $PY - "$1" <<'PYEOF'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "auto_growth":
        print(e["step"], e["chosen"] or "-", e["add"])
PYEOF
}

for np in 1 2 3; do
  run "$np" "${A[@]}" --train.batch $((48 / np)) --log.metrics "m$np.jsonl"
  expect_rc 0 "automatic growth on $np rank(s)"
  decisions "m$np.jsonl" > "d$np.txt"
  last_json widths > "w$np.txt"
  [[ $np -eq 2 ]] && cp "$WORK/out" out2.txt
done
n=$(grep -vc ' - ' d1.txt)
((n >= 3)) && pass "$n growths decided in 360 steps" || fail "only $n growths: $(cat d1.txt)"
grep -q ' - 0' d1.txt && pass "the budget was reached and growth stopped" || fail "no budget stop: $(cat d1.txt)"
cmp -s d1.txt d2.txt && cmp -s d1.txt d3.txt && pass "the same decisions on 1, 2 and 3 ranks: $(tr '\n' ';' < d1.txt)" \
  || fail "decisions differ: 1: $(tr '\n' ';' < d1.txt) 2: $(tr '\n' ';' < d2.txt) 3: $(tr '\n' ';' < d3.txt)"
cmp -s w1.txt w2.txt && cmp -s w1.txt w3.txt && pass "the same final widths $(cat w1.txt)" || fail "widths differ"
$PY - m2.jsonl <<'PYEOF' && pass "each decision's evidence is in the metrics" || fail "decision evidence"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
auto = [r for r in rows if r.get("event") == "auto_growth"]
grown = [r for r in rows if r.get("event") == "growth"]
ok = len(auto) >= 3 and len(grown) == len([a for a in auto if a["chosen"]])
for a in auto:
    c = a["candidates"]
    ok = ok and [x["group"] for x in c] == ["fc1", "fc2"] and a["window"] == 10 and a["stale_windows"] >= 2
    ok = ok and a["window_loss"] > 0 and a["best_loss"] > 0 and a["cost"] == "params"
    feasible = [x for x in c if not x["infeasible"]]
    if a["chosen"]:
        best = max(feasible, key=lambda x: x["score"])
        ok = ok and best["group"] == a["chosen"] and best["add"] == a["add"] and a["params_after"] <= 7100
        ok = ok and all(x["bound"] > 0 and abs(x["score"] - x["bound"] / x["cost"]) <= 1e-9 * x["score"] for x in feasible)
    else:
        ok = ok and not feasible
ok = ok and all(g["strategy"] == "gradmax" for g in grown)
for a, g in zip([a for a in auto if a["chosen"]], grown):
    ok = ok and (a["step"], a["chosen"], a["add"]) == (g["step"], g["site"], g["new_width"] - g["old_width"])
sys.exit(0 if ok else 1)
PYEOF
grep -q '^auto growth step [0-9]*  loss [0-9.]* (mean of 10 steps, best .*fc1 .*fc2 .* -> fc[12] +[0-9]*, [0-9]* params' out2.txt \
  && pass "decision line on rank 0" || fail "no decision line: $(grep -m1 'auto growth' out2.txt)"

# Resume: checkpoints every 25 steps; the checkpoint just before the second decision,
# resumed on 2 ranks, ends at the uninterrupted run's loss; on 3 ranks, decides the same.
run 2 "${A[@]}" --train.batch 24 --checkpoint.dir ck --checkpoint.every 25 --checkpoint.keep 0 --checkpoint.at_end true
expect_rc 0 "automatic growth with checkpoints"
full=$(last_json test_loss)
decisions_full=$(grep -v ' - ' d2.txt | tr '\n' ';')
second=$(grep -v ' - ' d2.txt | sed -n 2p | cut -d' ' -f1)
at=$(( (second - 1) / 25 * 25 ))
ck=$(printf 'ck/step-%08d.h5' "$at")
[[ -f $ck ]] || fail "no checkpoint $ck"
$PY - "$ck" <<'PYEOF' && pass "the checkpoint stores the plateau detector (/growth/auto)" || fail "/growth/auto"
import h5py, sys
a = h5py.File(sys.argv[1], "r")["/growth/auto"].attrs
sys.exit(0 if {"window_sum", "window_steps", "best", "last_mean", "stale", "windows", "last_growth"} <= set(a) and a["windows"] > 0 else 1)
PYEOF
run 2 "${A[@]}" --train.batch 24 --checkpoint.dir ck2 --resume "$ck" --log.metrics r2.jsonl
expect_rc 0 "resume at step $at on 2 ranks"
[[ $(last_json test_loss) == "$full" ]] && pass "resumed at step $at (before the decision at $second), it ends where the uninterrupted run did ($full)" \
  || fail "resumed run ends at $(last_json test_loss), uninterrupted $full"
run 3 "${A[@]}" --train.batch 16 --checkpoint.dir ck3 --resume "$ck" --log.metrics r3.jsonl
expect_rc 0 "resume at step $at on 3 ranks"
for r in r2 r3; do
  after=$(decisions "$r.jsonl" | grep -v ' - ' | tr '\n' ';')
  want=$(grep -v ' - ' d2.txt | awk -v at="$at" '$1 >= at' | tr '\n' ';')
  [[ -n $want && $after == "$want" ]] && pass "$r: the decisions after step $at are the uninterrupted run's ($want)" \
    || fail "$r: decisions after resume '$after', uninterrupted '$want' (all: $decisions_full)"
done

# A ViT: its MLP sites and attention heads are the width candidates, a head grows by GradMax.
run 2 train --model.kind vit --data.name synthetic --train.steps 24 --train.batch 16 --growth.auto true \
  --growth.window 5 --growth.patience 0 --growth.cooldown 5 --growth.auto_fraction 0.5 --growth.auto_kinds width \
  --log.metrics vit.jsonl
expect_rc 0 "automatic growth of a ViT"
$PY - vit.jsonl <<'PYEOF' && pass "ViT: every block's fc1 and heads are candidates, a decision every window" || fail "ViT decisions"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
auto = [r for r in rows if r.get("event") == "auto_growth"]
groups = [c["group"] for c in auto[0]["candidates"]]
want = [f"block{b}.fc1" for b in range(1, 5)] + [f"block{b}.heads" for b in range(1, 5)]
kinds = {c["group"]: c["kind"] for c in auto[0]["candidates"]}
ok = groups == want and kinds["block1.heads"] == "heads" and [a["step"] for a in auto] == [5, 10, 15, 20]
ok = ok and all(c["bound"] > 0 for a in auto for c in a["candidates"])
sys.exit(0 if ok else 1)
PYEOF

# A small ResNet: its stages (one block each) are depth candidates beside the inner sites of
# blocks 1 and 2, on one scale; a decision every window of 3 steps, up to 6,000 parameters
# (a small learning rate: batch-norm's statistics are per rank, so the runs on 1, 2 and 3
# ranks drift apart as they train). The same decisions on 1, 2 and 3 ranks, blocks and units
# grown; a depth decision runs the depth surgery, the checkpoint at the end records it in
# /growth/history, and a run resumed after it continues as the uninterrupted one.
R=(train --model.kind resnet --data.name synthetic --model.stem 4 --model.stages 4,8,8 --model.depth 10
   --train.steps 10 --optim.lr 0.005 --train.log_every 1000 --log.progress lines --growth.auto true
   --growth.window 3 --growth.patience 0 --growth.cooldown 3 --growth.auto_fraction 1 --growth.max_params 6000
   --growth.batch 48 --growth.auto_sites block1.conv1,block2.conv1)
for np in 1 2 3; do
  run "$np" "${R[@]}" --train.batch $((24 / np)) --log.metrics "res$np.jsonl" --checkpoint.dir "resck$np" \
    --checkpoint.every 5 --checkpoint.keep 0 --checkpoint.at_end true
  expect_rc 0 "automatic growth of a ResNet in width and depth on $np rank(s)"
  decisions "res$np.jsonl" > "rd$np.txt"
  [[ $np -eq 2 ]] && cp "$WORK/out" res_out2.txt && res_full=$(last_json test_loss)
done
cmp -s rd1.txt rd2.txt && cmp -s rd1.txt rd3.txt && pass "ResNet: the same decisions on 1, 2 and 3 ranks: $(tr '\n' ';' < rd1.txt)" \
  || fail "ResNet decisions differ: 1: $(tr '\n' ';' < rd1.txt) 2: $(tr '\n' ';' < rd2.txt) 3: $(tr '\n' ';' < rd3.txt)"
grep -q '^auto growth step [0-9]*  loss .* stage1 [0-9.e-]* (+1 block) .* -> stage[123] +1 block, [0-9]* params' res_out2.txt \
  && pass "ResNet: a depth decision line on rank 0" || fail "no depth decision line: $(grep -m1 'auto growth' res_out2.txt)"
$PY - res2.jsonl resck2 <<'PYEOF' && pass "ResNet: stages scored beside block sites, blocks and units grown, depth in the history" \
  || fail "ResNet depth decisions"
import glob, h5py, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
auto = [r for r in rows if r.get("event") == "auto_growth"]
grown = [r for r in rows if r.get("event") == "growth"]
first = {c["group"]: c["kind"] for c in auto[0]["candidates"]}
ok = first == {"block1.conv1": "inner", "block2.conv1": "inner", "stage1": "depth", "stage2": "depth", "stage3": "depth"}
chosen = [a for a in auto if a["chosen"]]
ok = ok and {a["chosen_kind"] for a in chosen} == {"inner", "depth"} and len(grown) == len(chosen)
for a in auto:
    for c in a["candidates"]:
        if not c["infeasible"]:
            ok = ok and c["bound"] > 0 and abs(c["score"] - c["bound"] / c["cost"]) <= 1e-9 * c["score"]
        if c["kind"] == "depth":
            ok = ok and c["add"] in (0, 1) and (c["add"] == 1) == (c["params_after"] <= 6000)
for a, g in zip(chosen, grown):
    ok = ok and a["step"] == g["step"] and a["params_after"] <= 6000
    if a["chosen_kind"] == "depth":
        ok = ok and g["site"] == "depth:" + a["chosen"] and g["new_blocks"] == g["old_blocks"] + 1
        ok = ok and g["strategy"] == "gradmax" and a["strategy"] == "gradmax" and g["function_change"] < 1e-4
    else:
        ok = ok and g["site"] == a["chosen"] and g["new_width"] - g["old_width"] == a["add"]
last = sorted(glob.glob(sys.argv[2] + "/step-*.h5"))[-1]
sites = [s.decode() if isinstance(s, bytes) else s for s in h5py.File(last, "r")["growth"]["history"]["site"]]
ok = ok and sites == [g["site"] for g in grown]
sys.exit(0 if ok else 1)
PYEOF
# Resumed at step 5, after the first decision (a block at step 3): the deeper model is
# restored, the later decisions and the final test loss are the uninterrupted run's.
run 2 "${R[@]}" --train.batch 12 --checkpoint.dir resck2b --resume resck2/step-00000005.h5 --log.metrics res2b.jsonl
expect_rc 0 "ResNet: resume after a depth decision"
want=$(awk '$1 >= 5' rd2.txt | tr '\n' ';')
got=$(decisions res2b.jsonl | tr '\n' ';')
[[ $(head -n 1 rd2.txt) == "3 stage"* && -n $want && $got == "$want" && $(last_json test_loss) == "$res_full" ]] \
  && pass "ResNet: resumed after the depth decision at step 3, the same decisions ($got) and test loss ($res_full)" \
  || fail "ResNet resume: decisions '$got' (want '$want', first $(head -n 1 rd2.txt)), test loss $(last_json test_loss) (want $res_full)"

# Bad options: one line, status 2 (every option's own check: tests/launch/growth/auto_options_test.cpp).
bad() {  # bad TEXT ARGS...
  local text=$1; shift
  run 2 train --model.widths 8,8 --train.steps 10 "$@"
  expect_rc 2 "$text"
  expect_err "$text" "one line: $text"
}
bad "--growth.max_params: 1000 is below the model's 6442 parameters" --growth.auto true --growth.max_params 1000
bad "--growth.auto_sites: unknown width group 'fc9'" --growth.auto true --growth.auto_sites fc9
run 2 train --model.kind resnet --data.name synthetic --train.steps 4 --growth.auto true --growth.auto_sites stage1
expect_rc 2 "a residual group as a candidate"
expect_err "--growth.auto_sites: stage1 cannot grow automatically: it is a residual group" "one line: a residual group"
bad "--growth.auto: true cannot be combined with train.mode=slimmable" --growth.auto true --train.mode slimmable
bad "--growth.auto_kinds: 'deep' is not one of width | depth" --growth.auto true --growth.auto_kinds width,deep
bad "--growth.auto_kinds: depth, but model.kind mlp" --growth.auto true --growth.auto_kinds depth
finish
