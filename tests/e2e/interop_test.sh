#!/usr/bin/env bash
# PyTorch interop (launch/interop): for mlp, cnn, resnet and vit, a model trained by sprout
# on Fashion-MNIST (2 ranks, 30 steps, classes 0-3) is exported (safetensors; pt for mlp and
# vit) and loaded in PyTorch through sprout_torch — and its checkpoint directly — with the
# test accuracy sprout reports and sprout's logits to 1e-4; an export imported back is the
# same model (the same accuracy in PyTorch and in sprout, the same tensors) and a valid
# checkpoint; a model initialised and trained in PyTorch is imported and grown by sprout on
# 2 ranks; a state dict that does not fit is refused with one line naming the tensor
# (status 2); a slimmable run exports its full width, sprout eval's width 1. 28 sprout
# runs and 3 Python ones: about 55 s of CPU, 60-170 s of wall time on 2 cores depending on
# their load.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
CHECK="$SPROUT_SOURCE_DIR/tests/launch/interop/torch_check.py"
export SPROUT_SOURCE_DIR

# field FIELD FILE [CHECK]: FIELD of FILE's row (compared with CHECK's family) in the last
# torch_check.py output.
field() { $PY -c "import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r['file'] == sys.argv[3] and sys.argv[4] in r['check']: print(r[sys.argv[2]])" "$WORK/py" "$1" "$2" "${3:-}"; }

COMMON=(--train.steps 30 --train.batch 32 --log.progress none --checkpoint.at_end true --runtime.threads 1
        --data.classes 0,1,2,3)
FILES=()
declare -A ACC
for family in mlp cnn resnet vit; do
  case $family in
    mlp) M=(--model.kind mlp --model.widths 32 --model.batch_norm true) ;;
    cnn) M=(--model.kind cnn --model.conv 4,8 --model.widths 16 --model.batch_norm true  # grown in depth: conv1_1, fc1_1
            --growth.strategy net2net --growth.event 10:conv1:+1layer --growth.event 10:fc1:+1layer) ;;
    resnet) M=(--model.kind resnet --model.inner 4,4,4) ;;
    vit) M=(--model.kind vit --model.dim 16 --model.heads 2 --model.depth 2 --model.mlp 32 --model.patch 7) ;;
  esac
  run 2 train "${COMMON[@]}" "${M[@]}" --checkpoint.dir ck_$family
  expect_rc 0 "$family trains on 2 ranks"
  ACC[$family]=$(last_json test_accuracy)
  run 1 export --check 64 ck_$family $family.safetensors
  expect_rc 0 "$family exported as safetensors (the checkpoint directory's latest)"
  files=($family.safetensors "ck_$family/$(cat ck_$family/latest)")
  if [[ $family == mlp || $family == vit ]]; then  # pt holds the same state dict: two families, 1 and 2 ranks
    np=1; [[ $family == mlp ]] && np=2
    run $np export --format pt "ck_$family/$(cat ck_$family/latest)" $family.pt
    expect_rc 0 "$family exported as pt on $np rank(s)"
    files+=($family.pt)
  fi
  for f in "${files[@]}"; do
    FILES+=("$f=$family.safetensors.check.safetensors")
  done
done
# A slimmable run without the gate's attention exports its full-width model: what
# `sprout eval --width 1` evaluates. With the attention (the default) export refuses.
run 2 train "${COMMON[@]}" --train.steps 12 --train.mode slimmable --slim.gate_steps 4 --slim.attention false \
  --model.widths 32 --model.batch_norm true --checkpoint.dir ck_slim
expect_rc 0 "a slimmable mlp trains"
run 1 eval --checkpoint ck_slim --width 1
ACC[slim]=$(tail -n 1 "$WORK/out" | $PY -c "import json,sys; print(json.load(sys.stdin)['widths'][0]['test_accuracy'])")
run 1 export --check 64 ck_slim slim.safetensors
expect_rc 0 "the slimmable checkpoint exports"
FILES+=("slim.safetensors=slim.safetensors.check.safetensors" "ck_slim/$(cat ck_slim/latest)=slim.safetensors.check.safetensors")

echo "== import"
# An export imported back: a valid checkpoint holding the same model.
run 2 import cnn.safetensors cnn_imported.h5
expect_rc 0 "import on 2 ranks"
run 1 inspect cnn_imported.h5
expect_rc 0 "sprout inspect verifies the imported checkpoint"
run 1 export cnn_imported.h5 cnn_again.safetensors
expect_rc 0 "the imported checkpoint exports"
FILES+=("cnn_imported.h5=cnn.safetensors.check.safetensors")
# sprout's own accuracy of an imported model: one step at learning rate 1e-30 (0 is refused)
# leaves a model without batch norms (the vit) unchanged — each update is far below its
# weights' float resolution — and the run ends with its test accuracy.
run 1 import vit.safetensors vit_imported.h5
expect_rc 0 "the vit export imports"
run 2 train --init.from vit_imported.h5 --optim.lr 1e-30 --optim.momentum 0 --train.steps 1 --train.batch 32 --data.classes 0,1,2,3 \
  --log.progress none --runtime.threads 1
[[ $RC -eq 0 && $(last_json test_accuracy) == "${ACC[vit]}" ]] \
  && pass "export -> import -> sprout: the vit's test accuracy ${ACC[vit]} again" \
  || fail "imported vit in sprout: status $RC, accuracy $(last_json test_accuracy), trained ${ACC[vit]}"
# One Python process loads all thirteen (torch's import is the slow part).
$PY "$CHECK" --classes 0,1,2,3 "${FILES[@]}" >"$WORK/py" 2>"$WORK/err" || fail "torch_check.py: $(tail -n 1 "$WORK/err")"
for entry in "${FILES[@]}"; do
  f=$(basename "${entry%%=*}"); family=${entry%%.safetensors.check.safetensors}; family=${family##*=}  # or slim
  a=$(field accuracy "$f" "$family"); d=$(field max_logit_diff "$f" "$family")
  [[ -n $a && $a == "${ACC[$family]}" ]] && pass "$family: PyTorch on $f: test accuracy $a, sprout's ${ACC[$family]}" \
    || fail "$family: PyTorch on $f: accuracy '$a', sprout ${ACC[$family]}"
  awk -v d="${d:-1}" 'BEGIN { exit !(d + 0 < 1e-4) }' \
    && pass "$family: logits of $f within 1e-4 of sprout's ($d)" || fail "$family: logits of $f differ by '$d'"
done

# export -> import -> export gives the same tensors; then a model initialised and trained in
# PyTorch is saved without metadata (imported below with the model.* options, then grown by
# sprout on 2 ranks), with broken copies of it.
$PY - <<'PYEOF' && pass "export -> import -> export gives the same tensors and metadata; PyTorch trained a model" \
  || fail "round trip or PyTorch training"
import os, sys, torch
sys.path.insert(0, os.path.join(os.environ["SPROUT_SOURCE_DIR"], "launch", "interop", "python"))
import sprout_torch
a, ma = sprout_torch.read_safetensors("cnn.safetensors")
b, mb = sprout_torch.read_safetensors("cnn_again.safetensors")
assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
assert all(ma[k] == mb[k] for k in ("architecture", "input_mean", "input_std")), (ma, mb)
x = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)  # per-channel normalisation
n = sprout_torch.Normalise([0.1, 0.2, 0.3], [0.5, 0.25, 2.0])(x)
assert all(torch.allclose(n[:, c], (x[:, c].float() / 255 - m) / s) for c, (m, s) in enumerate([(0.1, 0.5), (0.2, 0.25), (0.3, 2.0)]))
torch.manual_seed(0)
data = "/usr/share/datasets/fashion-mnist"
x = torch.from_numpy(sprout_torch.read_idx(f"{data}/train-images-idx3-ubyte.gz")[:512].copy()).unsqueeze(1)
y = torch.from_numpy(sprout_torch.read_idx(f"{data}/train-labels-idx1-ubyte.gz")[:512].copy()).long()
model = sprout_torch.build_model("kind=mlp;in=1x28x28;classes=10;batch_norm=true;widths=24,16").train()
normalise = sprout_torch.Normalise([0.286], [0.353])
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for i in range(0, 512, 64):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(normalise(x[i:i + 64])), y[i:i + 64]).backward()
    opt.step()
state = model.state_dict()
sprout_torch.save_safetensors("torch.safetensors", state)  # no metadata
bad = dict(state); bad.pop("fc2.bias")
sprout_torch.save_safetensors("missing.safetensors", bad)
bad = dict(state); bad["fc1.weight"] = torch.zeros(24, 700)
sprout_torch.save_safetensors("shape.safetensors", bad)
bad = dict(state); bad["fc3.weight"] = bad["fc3.weight"].double()
sprout_torch.save_safetensors("dtype.safetensors", bad)
bad = dict(state); bad["head.weight"] = torch.zeros(1)
sprout_torch.save_safetensors("extra.safetensors", bad)
PYEOF
MLP=(--model.kind mlp --model.widths 24,16 --model.batch_norm true --input_mean 0.286 --input_std 0.353)
run 1 import torch.safetensors torch.h5 "${MLP[@]}"
expect_rc 0 "a PyTorch-trained state dict imports with --model.* options"
$PY - <<'PYEOF' && pass "the imported checkpoint holds PyTorch's tensors, counters as in torch" || fail "imported tensors"
import h5py, json, numpy as np, struct
raw = open("torch.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
entry = json.loads(raw[8:8 + n])["fc2.weight"]
b, e = entry["data_offsets"]
saved = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(entry["shape"])
f = h5py.File("torch.h5")
assert np.array_equal(f["model/fc2/weight"][()], saved)
assert f["buffers/bn_fc1/num_batches_tracked"][()] == 8
assert list(f["normalization/mean"][()]) == [0.286] and list(f["normalization/std"][()]) == [0.353]
PYEOF
run 2 train --init.from torch.h5 --train.steps 4 --train.batch 32 --log.progress none --runtime.threads 1 \
  --growth.event 2:fc1:+8
expect_rc 0 "sprout trains the PyTorch model from --init.from and grows it"
[[ $(last_json widths) == '{"fc1": 32, "fc2": 16}' ]] && pass "fc1 grew 24 -> 32" || fail "widths $(last_json widths)"

# What does not fit is refused with one line naming the tensor, status 2.
run 1 import missing.safetensors bad.h5 "${MLP[@]}"
expect_rc 2 "a missing tensor"; expect_err "tensor fc2.bias is missing" "names the missing tensor"
run 2 import shape.safetensors bad.h5 "${MLP[@]}"
expect_rc 2 "a wrong shape (2 ranks)"
expect_err "tensor fc1.weight has shape [24, 700]; the architecture 'mlp 784-24-16-10 bn' needs [24, 784]" "names the shape"
run 1 import dtype.safetensors bad.h5 "${MLP[@]}"
expect_rc 2 "a wrong dtype"; expect_err "tensor fc3.weight has dtype F64; it must be F32" "names the dtype"
run 1 import extra.safetensors bad.h5 "${MLP[@]}"
expect_rc 2 "an extra tensor"; expect_err "tensor head.weight is not part of the architecture" "names the extra tensor"
run 1 import torch.safetensors bad.h5
expect_rc 2 "no architecture"; expect_err "no architecture in its metadata; give --model.kind" "asks for --model.kind"
run 2 export nothere.h5 out.safetensors
expect_rc 2 "export of a missing checkpoint (2 ranks)"; expect_err "export: checkpoint 'nothere.h5' is not a file" "names the file"
run 1 import torch.safetensors bad.h5 --model.kind mlp --model.widths 24,16 --input 1x28
expect_rc 2 "a bad --input"; expect_err "--input: '1x28' is not CxHxW" "names --input"
run 1 export "ck_mlp/$(cat ck_mlp/latest)" "./ck_mlp//$(cat ck_mlp/latest)"
expect_rc 2 "export onto its checkpoint"; expect_err "is the checkpoint itself" "names OUT"
run 1 export --format onnx ck_mlp x.onnx
expect_rc 2 "an unknown format"; expect_err "--format: 'onnx' is not safetensors or pt" "names --format"
[[ ! -e bad.h5 ]] && pass "no file is written for a refused import" || fail "bad.h5 exists"
finish
