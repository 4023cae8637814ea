#!/usr/bin/env bash
# Depth growth from the command line (growth/README.md "Growing in depth"): a resnet
# (random, a block inside a stage), a vit (gradmax) and a batch-normed mlp (net2net's
# identity layer) train on 2 ranks with a depth event beside a width event, the checkpoint
# stores the grown architecture and the depth event in its growth history, restores on 3
# ranks (resharded) and on 2 to the same end as the uninterrupted run; a merge of experts
# of different depths and bad depth events end with one line; the compact schedule grows
# depth. Small synthetic data: about 30 s per family on 2 cores.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
for family in resnet vit mlp; do
UNIT=block; DEEP=zeros; REFUSED=net2net
if [[ $family == resnet ]]; then
  D=(--data.name synthetic --data.synthetic_train 128 --data.synthetic_test 32 --train.batch 8 --log.progress none
     --model.kind resnet --model.depth 16 --model.inner 4,4,6,6,8,8)
  EVENTS=(--growth.strategy random --growth.event 3:stage2@1:+1block --growth.event 3:block7.conv1:+2)
  STORED="order=1,2,3,7,4,5,6"; TENSOR=model/block7/conv1/weight; SHAPE="(8, 32, 3, 3)"; RECORD="depth:stage2@1"
  BAD=3:stage4:+1block; BAD_LINE="no place 'stage4' to add blocks at (this model has: stage1, stage2, stage3)"
elif [[ $family == vit ]]; then
  D=(--data.name synthetic --data.synthetic_train 128 --data.synthetic_test 32 --train.batch 8 --log.progress none
     --model.kind vit --model.dim 16 --model.heads 2 --model.depth 2 --model.inner 4,6)
  EVENTS=(--growth.strategy gradmax --growth.event 3:blocks:+1block --growth.event 3:block3.fc1:+2)
  STORED="depth=3"; TENSOR=model/block3/fc1/weight; SHAPE="(8, 16)"; RECORD="depth:blocks"
  BAD=3:blocks:+0block; BAD_LINE="K must be > 0, got 0"
else
  D=(--data.name synthetic --data.synthetic_train 128 --data.synthetic_test 32 --train.batch 8 --log.progress none
     --model.kind mlp --model.widths 8,6 --model.batch_norm true)
  EVENTS=(--growth.strategy net2net --growth.event 3:fc2:+1layer --growth.event 3:fc2_1:+2)
  STORED="inserted=0,1"; TENSOR=model/fc2_1/weight; SHAPE="(8, 6)"; RECORD="depth:fc2"
  BAD=3:fc3:+1layer; BAD_LINE="no place 'fc3' to add layers at (this model has: fc1, fc2)"
  UNIT=layer; DEEP=net2net; REFUSED=random
fi
echo "== $family"
rm -rf ck ck2 ck3 base e0 e1 m.h5

# 1. Train with a depth event and a width event on the new block at step 3; checkpoint at 4.
G=("${D[@]}" --train.steps 8 "${EVENTS[@]}" --checkpoint.dir ck --checkpoint.every 4)
run 2 train "${G[@]}" --log.progress lines
expect_rc 0 "$family grows in depth and width on 2 ranks"
grep -q "growth step 3  ${RECORD#depth:} ${UNIT}s" "$WORK/out" && pass "the depth event is logged" || fail "no depth event line"
full=$(last_json test_loss)
$PY - "$STORED" "$TENSOR" "$SHAPE" "$RECORD" <<'PYEOF' && pass "the checkpoint stores the deeper $family and its history" || fail "stored depth"
import h5py, sys
stored, tensor, shape, record = sys.argv[1:]
f = h5py.File("ck/step-00000004.h5")
spec = f["architecture"].attrs["spec"].decode()
assert stored in spec, spec
assert str(f[tensor].shape) == shape, f[tensor].shape
sites = [s.decode() if isinstance(s, bytes) else s for s in f["growth"]["history"]["site"]]
assert record in sites, sites
PYEOF

# 2. Resume the step-4 checkpoint on 3 ranks (resharded), and on 2: the same end.
run 3 train "${G[@]}" --checkpoint.dir ck3 --resume ck/step-00000004.h5
expect_rc 0 "the deeper $family resumes on 3 ranks"
run 2 train "${G[@]}" --checkpoint.dir ck2 --resume ck/step-00000004.h5
expect_rc 0 "the deeper $family resumes on 2 ranks"
[[ $(last_json test_loss) == "$full" ]] && pass "resumed after depth growth: the same end ($full)" \
  || fail "test loss $(last_json test_loss) vs $full"
run 1 eval --checkpoint ck/step-00000008.h5
expect_rc 0 "eval rebuilds the deeper $family"
PYTHONPATH="$SPROUT_SOURCE_DIR/launch/interop/python" $PY - <<'PYEOF' && pass "sprout_torch loads the deeper $family (strict)" || fail "sprout_torch"
import sprout_torch
model, _ = sprout_torch.load("ck/step-00000008.h5")  # load_state_dict(strict=True)
assert any(hasattr(model, m) for m in ("block7", "block3", "fc2_1")), model
PYEOF

# 3. Experts of different depths do not merge: one line naming both architectures.
run 2 train "${D[@]}" --train.steps 2 --checkpoint.dir base --checkpoint.at_end true
expect_rc 0 "base"
run 2 train "${D[@]}" --train.steps 2 --init.from base/step-00000002.h5 --checkpoint.dir e0 --checkpoint.at_end true
expect_rc 0 "expert 0"
run 2 train "${D[@]}" --train.steps 2 --init.from base/step-00000002.h5 --growth.strategy $DEEP \
  --growth.event 1:${RECORD#depth:}:+1$UNIT --checkpoint.dir e1 --checkpoint.at_end true
expect_rc 0 "expert 1, grown in depth"
run 1 merge --method average --base base/step-00000002.h5 --experts e0/step-00000002.h5,e1/step-00000002.h5 --out m.h5
expect_rc 2 "merging experts of different depths"
expect_err "e1/step-00000002.h5' has architecture" "the merge refusal names both architectures"

# 4. Bad depth events and strategies: one line, status 2, before training (a step beyond
# the run: tests/growth/depth_test.cpp).
run 2 train "${D[@]}" --train.steps 4 --growth.event "$BAD"
expect_rc 2 "bad depth event $BAD"
expect_err "$BAD_LINE" "bad depth event message"
run 2 train "${D[@]}" --train.steps 4 --growth.strategy $REFUSED --growth.event "2:${RECORD#depth:}:+1$UNIT"
expect_rc 2 "$REFUSED in depth"
expect_err "--growth.strategy $REFUSED cannot grow model.kind $family in depth" "strategy refusal"
done
run 2 train --data.name synthetic --data.synthetic_train 64 --train.batch 8 --log.progress none --train.steps 4 \
  --growth.strategy net2net --growth.event 2:fc1:+1block
expect_rc 2 "an mlp grown by blocks"
expect_err "model.kind mlp grows in depth by layers (write +1layer)" "unit refusal"

# 5. The compact schedule grows depth: stage 2 of a ResNet-10 from 1 to 3 blocks over 2 events.
C=(--data.name synthetic --data.synthetic_train 64 --data.synthetic_test 16 --train.batch 8 --log.progress lines
   --model.kind resnet --model.inner 4,6,8 --train.steps 5 --growth.strategy zeros --growth.start 2 --growth.every 2
   --growth.times 2)
run 2 train "${C[@]}" --growth.depth_target stage2:3 --checkpoint.dir cc --checkpoint.at_end true
expect_rc 0 "the compact schedule grows stage 2"
[[ $(grep -c "growth step [24]  stage2 blocks" "$WORK/out") == 2 ]] && pass "two depth events" || fail "depth events"
$PY -c "import h5py; s = h5py.File('cc/step-00000005.h5')['architecture'].attrs['spec'].decode(); assert 'blocks=1,3,1' in s, s" \
  && pass "3 blocks in stage 2 at the end" || fail "compact depth"
run 2 train "${C[@]}" --growth.depth_target stage2:0
expect_rc 2 "a depth target below the model's"
expect_err "--growth.depth_target: stage2:0 is below the 1 blocks there now" "depth target message"
finish
