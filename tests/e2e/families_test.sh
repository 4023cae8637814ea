#!/usr/bin/env bash
# The resnet and vit families from the command line, on 2 ranks: each trains, grows two
# blocks (GradMax), checkpoints, resumes on 3 ranks (resharded) and on 2 to the same end as
# the uninterrupted run, slims with the dynamic gate, adapts its widths, merges offline
# and evaluates; a width group (stage, heads) grows with net2net; bad settings end with one
# line. Small synthetic data: about 40 s per
# family on 2 cores.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
for family in resnet vit; do
if [[ $family == resnet ]]; then
  D=(--data.name synthetic --data.synthetic_train 256 --data.synthetic_test 64 --train.batch 8 --log.progress none
     --model.kind resnet --model.inner 4,6,8)
  SITE=conv1; GROWN='{"block1.conv1": 4, "block2.conv1": 9, "block3.conv1": 10}'; STORED="inner=4,9,10"
  TENSOR=model/block2/conv1/weight; SHAPE="(9, 16, 3, 3)"
  GROUP=stage2; ADD=2; GROUP_STORED="stages=16,34,64"; GROUP_TENSOR=model/block2/conv2/weight; GROUP_SHAPE="(34, 6, 3, 3)"
  REFUSED=stage2
else
  D=(--data.name synthetic --data.synthetic_train 256 --data.synthetic_test 64 --train.batch 8 --log.progress none
     --model.kind vit --model.dim 16 --model.heads 2 --model.depth 3 --model.inner 4,6,8)
  SITE=fc1; GROWN='{"block1.fc1": 4, "block2.fc1": 9, "block3.fc1": 10}'; STORED="inner=4,9,10"
  TENSOR=model/block2/fc1/weight; SHAPE="(9, 16)"
  GROUP=block2.heads; ADD=1; GROUP_STORED="block_heads=2,3,2"; GROUP_TENSOR=model/block2/qkv/weight; GROUP_SHAPE="(72, 16)"
  REFUSED=stream
fi
echo "== $family"
rm -rf ck ck2 ck3 ckg ckg2 ckg3 slim base e0 e1 m.h5

# 1. Train, grow, checkpoint; the grown architecture is in the file and the summary.
G=("${D[@]}" --train.steps 12 --growth.event 4:block2.$SITE:+3 --growth.event 4:block3.$SITE:+2 --checkpoint.dir ck
   --checkpoint.every 8)
run 2 train "${G[@]}"
expect_rc 0 "$family trains and grows on 2 ranks"
[[ $(last_json widths) == "$GROWN" ]] && pass "two blocks grew" || fail "widths $(last_json widths)"
full=$(last_json test_loss)
$PY - "$family" "$STORED" "$TENSOR" "$SHAPE" <<'PYEOF' && pass "the checkpoint stores the grown $family, h5py reads it" || fail "stored architecture"
import h5py, sys
family, stored, tensor, shape = sys.argv[1:]
f = h5py.File("ck/step-00000008.h5")
spec = f["architecture"].attrs["spec"].decode()
assert spec.startswith("kind=%s;" % family) and stored in spec, spec
assert str(f[tensor].shape) == shape, f[tensor].shape
PYEOF

# 2. Resume the step-8 checkpoint on 3 ranks (resharded), and on 2: the same end as the
# uninterrupted run.
run 3 train "${G[@]}" --checkpoint.dir ck3 --resume ck/step-00000008.h5
expect_rc 0 "resume on 3 ranks"
run 2 train "${G[@]}" --checkpoint.dir ck2 --resume ck/step-00000008.h5
expect_rc 0 "resume on 2 ranks"
[[ $(last_json test_loss) == "$full" ]] && pass "resumed run ends where the uninterrupted one did ($full)" \
  || fail "test loss $(last_json test_loss) vs $full"

# 2b. A width group (a ResNet stage, a ViT block's heads) grows from the command line with
# net2net, the grown architecture is stored and resumes (on 3 ranks, and on 2 to the same
# end); gradmax refuses a residual group (a stage, the stream) with one line.
GG=("${D[@]}" --train.steps 6 --growth.strategy net2net --growth.event 2:$GROUP:+$ADD --checkpoint.every 4
    --checkpoint.at_end true)
run 2 train "${GG[@]}" --checkpoint.dir ckg
expect_rc 0 "$family grows $GROUP with net2net"
grown_loss=$(last_json test_loss)
$PY - "$GROUP_STORED" "$GROUP_TENSOR" "$GROUP_SHAPE" <<'PYEOF' && pass "the checkpoint stores the grown $GROUP" || fail "stored $GROUP"
import h5py, sys
stored, tensor, shape = sys.argv[1:]
f = h5py.File("ckg/step-00000006.h5")
spec = f["architecture"].attrs["spec"].decode()
assert stored in spec, spec
assert str(f[tensor].shape) == shape, f[tensor].shape
PYEOF
run 3 train "${GG[@]}" --checkpoint.dir ckg3 --resume ckg/step-00000004.h5
expect_rc 0 "the grown $GROUP resumes on 3 ranks"
run 2 train "${GG[@]}" --checkpoint.dir ckg2 --resume ckg/step-00000004.h5
expect_rc 0 "the grown $GROUP resumes on 2 ranks"
[[ $(last_json test_loss) == "$grown_loss" ]] && pass "resumed after $GROUP growth: the same end ($grown_loss)" \
  || fail "test loss $(last_json test_loss) vs $grown_loss"
run 2 train "${D[@]}" --train.steps 6 --growth.event 2:$REFUSED:+2
expect_rc 2 "gradmax on $REFUSED"
expect_err "--growth.strategy gradmax cannot grow site $REFUSED: it is a residual group" "group refusal"

# 3. Slimmable training with the dynamic gate, then eval at every width and routed.
run 2 train "${D[@]}" --train.steps 8 --train.mode slimmable --slim.gate_steps 4 --checkpoint.dir slim \
  --checkpoint.at_end true
expect_rc 0 "slimmable $family with the gate"
run 2 eval --checkpoint slim --width all
expect_rc 0 "eval of the slimmable $family at every width"
grep -q "0.25" "$WORK/out" && pass "eval lists the widths" || fail "eval output"

# 4. Adaptive width: the blocks' inner widths move.
run 2 train "${D[@]}" --train.steps 8 --model.adaptive true
expect_rc 0 "adaptive $family"

# 5. Offline merge of two fine-tuned experts of one base.
run 2 train "${D[@]}" --train.steps 4 --checkpoint.dir base --checkpoint.at_end true
expect_rc 0 "base"
for t in 0 1; do
  run 2 train "${D[@]}" --train.steps 4 --init.from base/step-00000004.h5 --data.classes $((2 * t)),$((2 * t + 1)) \
    --checkpoint.dir e$t --checkpoint.at_end true
  expect_rc 0 "expert $t"
done
run 2 merge --method magmax --base base/step-00000004.h5 --experts e0/step-00000004.h5,e1/step-00000004.h5 --out m.h5
expect_rc 0 "magmax merge of $family experts"

# 6. Bad settings: one line, status 2.
run 2 train "${D[@]}" --model.inner 4,4
expect_rc 2 "inner of the wrong length"; expect_err "model.inner: '4,4' has 2 widths" "inner message"
if [[ $family == resnet ]]; then
  run 2 train "${D[@]}" --model.depth 12
  expect_rc 2 "depth 12"; expect_err "model.depth: 12 is not 6n+4" "depth message"
  run 2 train "${D[@]}" --model.widen x
  expect_rc 2 "widen not a number"; expect_err "--model.widen: 'x' is not an integer" "widen message"
else
  run 2 train "${D[@]}" --model.heads 3
  expect_rc 2 "heads not dividing dim"; expect_err "model.heads: 3 must be >= 1 and divide model.dim 16" "heads message"
fi
done
finish
