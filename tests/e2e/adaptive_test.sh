#!/usr/bin/env bash
# Adaptive width end to end on 2 ranks (MLP and CNN example configs, shortened; a ResNet's
# residual group stage2; a ViT's heads and stream): the widths
# change during training (event lines and metrics), checkpoints hold the learned widths and
# the rates, a resumed run ends where the uninterrupted one ends, `sprout eval --truncate`
# gives the truncation curve (its full-width row equals the run's test accuracy), and bad
# values of every new option end promptly with one clear line and status 2.
source "$(dirname "$0")/lib.sh"
CONFIGS="$SPROUT_SOURCE_DIR/launch/configs"

# events FILE: the adaptive width-change events of a metrics file, as a count.
events() {
  $PY -c "
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get('event') == 'adaptive'))" "$1"
}

# 1. MLP: 150 steps, widths checked every 5 steps, rates moving fast.
MLP=(--config "$CONFIGS/adaptive_mlp.ini" --train.steps 150 --adaptive.check_every 5 --log.progress lines)
run 2 train "${MLP[@]}" --log.metrics "$WORK/mlp.jsonl" --checkpoint.dir "$WORK/ck" --checkpoint.every 75 \
  --checkpoint.at_end true
expect_rc 0 "adaptive MLP on 2 ranks"
mlp_summary=$(tail -n 1 "$WORK/out")
mlp_widths=$(last_json widths)
mlp_acc=$(last_json test_accuracy)
n=$(events "$WORK/mlp.jsonl")
[[ $n -gt 0 ]] && pass "$n width changes logged" || fail "no adaptive events in the metrics"
grep -q "^adaptive step [0-9]*  fc" "$WORK/out" && pass "width-change line printed" || fail "no width-change line"
[[ $mlp_widths != '{"fc1": 64, "fc2": 64}' ]] && pass "widths moved: $mlp_widths" || fail "widths unchanged $mlp_widths"
$PY - "$WORK/ck/step-00000150.h5" "$mlp_widths" <<'PYEOF' && pass "checkpoint holds the learned widths and the rates" || fail "checkpoint content"
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
widths = json.loads(sys.argv[2])
assert f["model/fc1/weight"].shape[0] == widths["fc1"] and f["model/fc2/weight"].shape[0] == widths["fc2"]
assert dict(f["architecture/widths"].attrs) == widths, dict(f["architecture/widths"].attrs)
for site in ("fc1", "fc2"):
    assert f[f"model/adaptive/{site}/raw"].shape == (1,)
    assert f[f"optimizer/adaptive/{site}/raw/exp_avg"].shape == (1,)
PYEOF

# Resume from the middle: same end state as the uninterrupted run.
run 2 train "${MLP[@]}" --checkpoint.dir "$WORK/ck2" --resume "$WORK/ck/step-00000075.h5"
expect_rc 0 "adaptive MLP resumed from step 75"
grep -q "resumed from .*step-00000075.h5 at step 75" "$WORK/out" && pass "resume message" || fail "no resume message"
[[ $(last_json widths) == "$mlp_widths" && $(last_json test_accuracy) == "$mlp_acc" ]] \
  && pass "resumed run ends with the same widths and accuracy" || fail "resumed: $(tail -n 1 "$WORK/out") vs $mlp_summary"

# Truncation curve on 3 ranks; the full-width row is the trained network itself.
run 3 eval --checkpoint "$WORK/ck" --truncate all
expect_rc 0 "sprout eval --truncate all"
[[ $(grep -c "^truncate " "$WORK/out") -eq 11 ]] && pass "11 truncation rows printed" || fail "truncation rows"
tail -n 1 "$WORK/out" >"$WORK/curve.json"
$PY - "$WORK/curve.json" "$mlp_acc" "$mlp_widths" <<'PYEOF' && pass "curve: full width = training accuracy, MACs ascend" || fail "curve $(cat "$WORK/curve.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["truncations"]
assert [r["truncate"] for r in rows][-1] == "1", rows
assert abs(rows[-1]["test_accuracy"] - float(sys.argv[2])) < 1e-12, (rows[-1], sys.argv[2])
assert rows[-1]["active"] == json.loads(sys.argv[3])
macs = [r["macs_per_example"] for r in rows]
assert all(a <= b for a, b in zip(macs, macs[1:])), macs
PYEOF
run 2 eval --checkpoint "$WORK/ck/step-00000150.h5" --truncate 5
expect_rc 0 "sprout eval --truncate 5"
[[ $(last_json truncations | $PY -c "import json,sys; print(json.load(sys.stdin)[0]['active'])") == "{'fc1': 5, 'fc2': 5}" ]] \
  && pass "--truncate 5 keeps 5 units per site" || fail "truncate 5: $(tail -n 1 "$WORK/out")"
run 2 eval --checkpoint "$WORK/ck" --truncate 0
expect_rc 2 "--truncate 0"; expect_err "--truncate: '0' is not all, a unit count >= 1 nor a fraction in (0, 1]" "truncate 0 message"
run 2 eval --checkpoint "$WORK/ck" --truncate 1.5
expect_rc 2 "--truncate 1.5"; expect_err "--truncate: '1.5' is a fraction outside (0, 1]" "truncate 1.5 message"

# 2. CNN: every site (conv1, conv2 across the flatten, fc1) adapts; checkpoint, restore, eval.
E2E_TIMEOUT=300 run 2 train --config "$CONFIGS/adaptive_cnn.ini" --train.steps 40 --adaptive.check_every 4 \
  --log.progress lines --log.metrics "$WORK/cnn.jsonl" --checkpoint.dir "$WORK/cnn" --checkpoint.every 20 \
  --checkpoint.at_end true
expect_rc 0 "adaptive CNN on 2 ranks"
cnn_widths=$(last_json widths)
n=$(events "$WORK/cnn.jsonl")
[[ $n -gt 0 && $cnn_widths != '{"conv1": 16, "conv2": 32, "fc1": 64}' ]] && pass "CNN widths changed $n times: $cnn_widths" \
  || fail "CNN widths $cnn_widths ($n events)"
E2E_TIMEOUT=300 run 2 train --config "$CONFIGS/adaptive_cnn.ini" --train.steps 40 --adaptive.check_every 4 \
  --log.progress lines --checkpoint.dir "$WORK/cnn" --resume auto
expect_rc 0 "adaptive CNN resumed (auto)"
[[ $(last_json widths) == "$cnn_widths" ]] && pass "CNN restored with its learned widths" || fail "CNN restore $(last_json widths)"
run 2 eval --checkpoint "$WORK/cnn" --truncate 0.5
expect_rc 0 "CNN eval --truncate 0.5"
[[ $(grep -c "^truncate 0.5 " "$WORK/out") -eq 1 ]] && pass "CNN truncation row" || fail "CNN truncation"

# 2b. ResNet: a residual group (stage2) adapts; its width is stored in the checkpoint's
# architecture and `sprout eval --truncate` cuts the stage.
RES=(--data.name synthetic --data.synthetic_train 256 --data.synthetic_test 64 --train.batch 8 --model.kind resnet
     --model.stages 8,16,32 --model.stem 8 --model.adaptive true --model.adaptive_sites stage2 --train.steps 12
     --adaptive.check_every 2 --log.progress lines)
run 2 train "${RES[@]}" --log.metrics "$WORK/resnet.jsonl" --checkpoint.dir "$WORK/rck" --checkpoint.at_end true
expect_rc 0 "adaptive ResNet stage2 on 2 ranks"
n=$(events "$WORK/resnet.jsonl")
grep -q "^adaptive step [0-9]*  stage2 16 -> " "$WORK/out" && pass "stage2 changed width ($n events)" \
  || fail "no stage2 width change ($n events)"
$PY - "$WORK/rck" "$WORK/resnet.jsonl" <<'PYEOF' && pass "checkpoint: stage2's learned width in the architecture and the tensors" || fail "ResNet checkpoint"
import glob, h5py, json, sys
events = [json.loads(l) for l in open(sys.argv[2]) if json.loads(l).get("event") == "adaptive"]
width = events[-1]["widths"]["stage2"]
f = h5py.File(sorted(glob.glob(sys.argv[1] + "/step-*.h5"))[-1], "r")
spec = f["architecture"].attrs["spec"].decode()
assert "stages=8,%d,32" % width in spec, (spec, width)
assert f["model/block2/conv2/weight"].shape[0] == width and f["model/block3/conv1/weight"].shape[1] == width
assert f["model/adaptive/stage2/raw"].shape == (1,)
PYEOF
run 2 eval --checkpoint "$WORK/rck" --truncate 4
expect_rc 0 "ResNet eval --truncate 4"
[[ $(last_json truncations | $PY -c "import json,sys; print(json.load(sys.stdin)[0]['active'])") == "{'stage2': 4}" ]] \
  && pass "--truncate 4 keeps 4 channels of stage2" || fail "ResNet truncate 4: $(tail -n 1 "$WORK/out")"

# 2c. ViT: a block's heads and the stream adapt (a unit of the heads group is a head; both
# bounded by adaptive.max_width); the checkpoint's architecture and tensors hold the learned
# widths and `sprout eval --truncate` cuts both.
VIT=(--data.name synthetic --data.synthetic_train 256 --data.synthetic_test 64 --train.batch 8 --model.kind vit
     --model.dim 16 --model.heads 4 --model.mlp 16 --model.depth 2 --model.adaptive true
     --model.adaptive_sites block1.heads,stream --adaptive.max_width 6 --train.steps 12 --adaptive.check_every 2
     --log.progress lines)
run 2 train "${VIT[@]}" --log.metrics "$WORK/vit.jsonl" --checkpoint.dir "$WORK/vck" --checkpoint.at_end true
expect_rc 0 "adaptive ViT heads and stream on 2 ranks"
grep -q "^adaptive step [0-9]*  block1.heads 4 -> " "$WORK/out" && pass "block1.heads changed width" \
  || fail "no block1.heads width change"
$PY - "$WORK/vck" "$WORK/vit.jsonl" <<'PYEOF' && pass "checkpoint: the learned heads and stream in the architecture and the tensors" || fail "ViT checkpoint"
import glob, h5py, json, sys
events = [json.loads(l) for l in open(sys.argv[2]) if json.loads(l).get("event") == "adaptive"]
w = events[-1]["widths"]
heads, dim = w["block1.heads"], w["stream"]
assert heads <= 6 and dim <= 6, w
f = h5py.File(sorted(glob.glob(sys.argv[1] + "/step-*.h5"))[-1], "r")
spec = f["architecture"].attrs["spec"].decode()
assert "block_heads=%d,4" % heads in spec and "dim=%d;" % dim in spec, (spec, w)
assert f["model/block1/qkv/weight"].shape == (3 * heads * 4, dim), f["model/block1/qkv/weight"].shape
assert f["model/block1/proj/weight"].shape == (dim, heads * 4) and f["model/embed/weight"].shape[0] == dim
PYEOF
run 2 eval --checkpoint "$WORK/vck" --truncate 2
expect_rc 0 "ViT eval --truncate 2"
[[ $(last_json truncations | $PY -c "import json,sys; print(json.load(sys.stdin)[0]['active'])") == "{'block1.heads': 2, 'stream': 2}" ]] \
  && pass "--truncate 2 keeps 2 heads and 2 stream units" || fail "ViT truncate 2: $(tail -n 1 "$WORK/out")"

# 3. Bad input, on 2 ranks (and the first on 1): one line naming the option and the value, status 2.
run 1 train --data.name synthetic --model.adaptive true --adaptive.q 0
expect_rc 2 "--adaptive.q 0 (1)"; expect_err "--adaptive.q: 0 must be in (0, 1)" "--adaptive.q 0 message (1)"
run 2 train --data.name synthetic --model.adaptive maybe
expect_rc 2 "--model.adaptive maybe"; expect_err "--model.adaptive: 'maybe' is not a boolean" "--model.adaptive maybe message"
for np in 2; do
  for bad in "adaptive.q 1.2:--adaptive.q: 1.2 must be in (0, 1)" \
             "adaptive.rate_floor 0:--adaptive.rate_floor: 0 must be > 0" \
             "adaptive.max_width 1:--adaptive.max_width: 1 must be in [2, 1048576]" \
             "adaptive.new_std -1:--adaptive.new_std: -1 must be >= 0" \
             "adaptive.sigma_theta 0:--adaptive.sigma_theta: 0 must be > 0" \
             "adaptive.rate_mean -1:--adaptive.rate_mean: -1 must be >= 0" \
             "adaptive.rate_scale 0:--adaptive.rate_scale: 0 must be > 0" \
             "adaptive.check_every 0:--adaptive.check_every: 0 must be > 0" \
             "adaptive.rate_lr 0:--adaptive.rate_lr: 0 must be > 0" \
             "model.adaptive_sites fc7:--model.adaptive_sites: 'fc7' is not a site of this model (fc1, fc2)"; do
    opt=${bad%%:*}; msg=${bad#*:}
    run $np train --data.name synthetic --model.adaptive true --${opt% *} "${opt#* }"
    expect_rc 2 "--$opt ($np)"; expect_err "$msg" "--$opt message ($np)"
  done
  run $np train --data.name synthetic --model.adaptive true --train.mode slimmable
  expect_rc 2 "adaptive + slimmable ($np)"; expect_err "--model.adaptive: true cannot be combined with train.mode = slimmable" "slimmable message ($np)"
  run $np train --data.name synthetic --model.adaptive true --model.widths 1,8
  expect_rc 2 "width 1 ($np)"; expect_err "--model.widths: site fc1 has 1 units; adaptive width needs at least 2" "width 1 message ($np)"
done
finish
