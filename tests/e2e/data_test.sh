#!/usr/bin/env bash
# HDF5 data sets (data.name = hdf5, data/README.md): the converter on numpy arrays (float32,
# channels last) and on IDX; Fashion-MNIST converted by
# data/scripts/to_hdf5.py trains exactly as its IDX files do; a synthetic 3-channel,
# 100-class set trains a ResNet (and a ViT) on 2 ranks; the normalisation is per channel,
# agrees with numpy and is stored in the checkpoint, where `sprout eval` reads it; crop and
# flip augmentation is deterministic; bad files are refused with one line and status 2.
source "$(dirname "$0")/lib.sh"
TO_HDF5=("$PY" "$SPROUT_SOURCE_DIR/data/scripts/to_hdf5.py")

# --- the converter: numpy arrays (channels last, float) -> the layout; bad arrays: status 2 ---
$PY - "$WORK" <<'EOF'
import sys, numpy as np
r = np.random.default_rng(0)
np.savez(f'{sys.argv[1]}/hwc.npz', x_train=r.random((6, 5, 4, 3)), y_train=np.array([[0], [1], [2], [0], [1], [2]]),
         x_test=r.random((2, 5, 4, 3)), y_test=np.array([2, 1]))
np.savez(f'{sys.argv[1]}/bad.npz', x_train=r.random((6, 5, 4, 3)), y_train=np.arange(5),
         x_test=r.random((2, 5, 4, 3)), y_test=np.array([2, 1]))
EOF
"${TO_HDF5[@]}" --npz "$WORK/hwc.npz" --channels-last --out "$WORK/hwc.h5" >/dev/null
$PY - "$WORK/hwc.npz" "$WORK/hwc.h5" <<'EOF' && pass "to_hdf5.py --npz --channels-last: (N, C, H, W) float32, labels, classes" || fail "to_hdf5.py --npz"
import sys, h5py, numpy as np
z, f = np.load(sys.argv[1]), h5py.File(sys.argv[2])
x = f['train/images']
assert x.shape == (6, 3, 5, 4) and x.dtype == np.float32, (x.shape, x.dtype)
assert np.array_equal(x[:], z['x_train'].transpose(0, 3, 1, 2).astype(np.float32))
assert list(f['train/labels'][:]) == [0, 1, 2, 0, 1, 2] and f.attrs['num_classes'] == 3
EOF
run 2 train --data.name hdf5 --data.path "$WORK/hwc.h5" --train.steps 2 --train.batch 2 --model.widths 4 --log.progress none
expect_rc 0 "float32 images train"
[[ $(last_json model) == "mlp 60-4-3" ]] && pass "float32 3x5x4 images, 3 classes: mlp 60-4-3" || fail "model $(last_json model)"
"${TO_HDF5[@]}" --npz "$WORK/bad.npz" --out "$WORK/bad.h5" >"$WORK/out" 2>"$WORK/err"; RC=$?
expect_rc 2 "to_hdf5.py: labels and images of different lengths"
grep -qx "to_hdf5: train: 5 labels for 6 images" "$WORK/err" && [[ ! -e $WORK/bad.h5 ]] && pass "to_hdf5.py: one line, no file" \
  || fail "to_hdf5.py message: $(cat "$WORK/err")"

# --- Fashion-MNIST: IDX and HDF5 give bitwise the same run --------------------------------
"${TO_HDF5[@]}" --idx /usr/share/datasets/fashion-mnist --out "$WORK/fm.h5" >/dev/null \
  && pass "to_hdf5.py converts the Fashion-MNIST IDX files" || fail "to_hdf5.py --idx"
FM=(train --model.widths 32 --train.steps 40 --train.batch 32 --train.log_every 10 --train.seed 3
    --log.progress none)
run 2 "${FM[@]}" --log.metrics "$WORK/idx.jsonl"
expect_rc 0 "Fashion-MNIST from IDX"
idx_acc=$(last_json test_accuracy)
run 2 "${FM[@]}" --data.name hdf5 --data.path "$WORK/fm.h5" --log.metrics "$WORK/h5.jsonl"
expect_rc 0 "Fashion-MNIST from HDF5"
h5_acc=$(last_json test_accuracy)
losses() { $PY -c "import json,sys; print(' '.join(repr(r['train_loss']) for r in map(json.loads, open(sys.argv[1])) if r['event'] == 'train'))" "$1"; }
idx_losses=$(losses "$WORK/idx.jsonl"); h5_losses=$(losses "$WORK/h5.jsonl")
echo "IDX  losses $idx_losses  accuracy $idx_acc"
echo "HDF5 losses $h5_losses  accuracy $h5_acc"
[[ -n $idx_losses && $idx_losses == "$h5_losses" ]] && pass "HDF5 and IDX: bitwise the same losses" || fail "losses differ"
[[ -n $idx_acc && $idx_acc == "$h5_acc" ]] && pass "HDF5 and IDX: the same test accuracy ($h5_acc)" || fail "accuracy $h5_acc vs $idx_acc"

# --- a synthetic 3-channel, 100-class set trains a ResNet on 2 ranks ------------------------
$PY - "$WORK/rgb.h5" <<'EOF'
import sys, h5py, numpy as np
rng = np.random.default_rng(0)
protos = rng.integers(0, 256, (100, 3, 16, 16))
scale = np.array([1.0, 0.6, 0.3]).reshape(1, 3, 1, 1)  # channels of different means
def split(n, seed):
    r = np.random.default_rng(seed)
    y = r.integers(0, 100, n)
    x = (scale * (0.7 * protos[y] + 0.3 * 255 * r.random((n, 3, 16, 16)))).astype(np.uint8)
    return x, y.astype(np.int16)  # any integer type
with h5py.File(sys.argv[1], 'w') as f:
    for name, n, seed in (('train', 1024, 1), ('test', 256, 2)):
        x, y = split(n, seed)
        f[name + '/images'] = x
        f[name + '/labels'] = y
    f.attrs['num_classes'] = 100
EOF
RGB=(train --data.name hdf5 --data.path "$WORK/rgb.h5" --train.batch 16 --train.log_every 5 --log.progress none
     --optim.lr 0.2)
run 2 "${RGB[@]}" --model.kind resnet --train.steps 40 --log.metrics "$WORK/rgb.jsonl" \
  --checkpoint.dir "$WORK/ck" --checkpoint.at_end true
expect_rc 0 "ResNet on 3x16x16, 100 classes, 2 ranks"
grep -q '"model":"resnet-10-1 3x16x16' "$WORK/out" && pass "the model input follows the file (3x16x16)" || fail "model input"
rgb_losses=$(losses "$WORK/rgb.jsonl"); rgb_acc=$(last_json test_accuracy); rgb_loss=$(last_json test_loss)
echo "ResNet losses $rgb_losses  accuracy $rgb_acc"
$PY -c "import sys; l=[float(v) for v in sys.argv[1].split()]; sys.exit(not (len(l) >= 6 and l[-1] < 0.8 * l[0]))" "$rgb_losses" \
  && pass "ResNet: the loss decreases ($rgb_losses)" || fail "ResNet loss did not decrease: $rgb_losses"
$PY -c "import sys; sys.exit(float(sys.argv[1]) <= 0.1)" "$rgb_acc" && pass "ResNet: test accuracy $rgb_acc, over 10x chance" \
  || fail "ResNet test accuracy $rgb_acc"

# The normalisation: per channel, numpy's (ddof 1) to 1e-9, stored in the checkpoint.
$PY - "$WORK/rgb.h5" "$WORK/ck/$(cat "$WORK/ck/latest")" <<'EOF' && pass "per-channel mean/std stored, equal to numpy's" || fail "stored normalisation"
import sys, h5py, numpy as np
x = h5py.File(sys.argv[1])['train/images'][:].astype(np.float64) / 255
c = h5py.File(sys.argv[2])
mean, std = c['normalization/mean'][:], c['normalization/std'][:]
want_m, want_s = x.mean(axis=(0, 2, 3)), x.transpose(1, 0, 2, 3).reshape(3, -1).std(axis=1, ddof=1)
print('stored', mean, std, 'numpy', want_m, want_s)
sys.exit(not (mean.shape == (3,) and np.allclose(mean, want_m, atol=1e-9) and np.allclose(std, want_s, atol=1e-9)))
EOF
# Computed by 1, 2 or 3 ranks together: bitwise the same (Note [Normalisation agreement]),
# on float32 images (rounded sums) spanning 3 chunks of 4096 examples.
$PY - "$WORK/many.h5" <<'EOF'
import sys, h5py, numpy as np
r = np.random.default_rng(5)
with h5py.File(sys.argv[1], 'w') as f:
    f['train/images'] = (r.random((9000, 3, 4, 4)) * np.array([1, 10, 100]).reshape(1, 3, 1, 1)).astype(np.float32)
    f['train/labels'] = r.integers(0, 10, 9000)
    f['test/images'], f['test/labels'] = f['train/images'][:100], f['train/labels'][:100]
    f.attrs['num_classes'] = 10
EOF
for np in 1 2 3; do
  run $np train --data.name hdf5 --data.path "$WORK/many.h5" --model.widths 8 --train.steps 1 --train.batch 8 \
    --log.progress none --checkpoint.dir "$WORK/many$np" --checkpoint.at_end true
  expect_rc 0 "normalisation on $np rank(s)"
done
$PY - "$WORK"/many{1,2,3}/step-00000001.h5 <<'EOF' && pass "1, 2 and 3 ranks store bitwise the same normalisation" \
  || fail "normalisation differs across world sizes"
import sys, h5py, numpy as np
n = [(h5py.File(p)['normalization/mean'][:], h5py.File(p)['normalization/std'][:]) for p in sys.argv[1:]]
print('mean', n[0][0], 'std', n[0][1])
sys.exit(not all(np.array_equal(m, n[0][0]) and np.array_equal(s, n[0][1]) for m, s in n))
EOF
# `sprout eval` on the plain checkpoint's directory: the stored normalisation, the same accuracy.
run 2 eval --checkpoint "$WORK/ck"
expect_rc 0 "eval of a plain HDF5-trained checkpoint (its directory)"
[[ $(last_json test_accuracy) == "$rgb_acc" && $(last_json test_loss) == "$rgb_loss" ]] \
  && pass "eval gives the run's final accuracy and loss ($rgb_acc, $rgb_loss)" \
  || fail "eval accuracy $(last_json test_accuracy), loss $(last_json test_loss); the run's $rgb_acc, $rgb_loss"
[[ $(last_json normalization) == *'"source": "checkpoint"'* ]] && pass "eval uses the stored normalisation" \
  || fail "eval normalisation: $(last_json normalization)"

# A ViT on the same data: the patch must divide 16.
run 2 "${RGB[@]}" --model.kind vit --model.dim 16 --model.heads 2 --model.depth 1 --model.patch 4 --train.steps 10
expect_rc 0 "ViT (patch 4) on 3x16x16"
run 2 "${RGB[@]}" --model.kind vit --train.steps 10
expect_rc 2 "ViT with patch 7 on 16x16 images"; expect_err "model.patch: 7 must divide the 16x16 images" "ViT patch message"

# Augmentation: deterministic from the seed, and it changes the run.
run 2 "${RGB[@]}" --model.kind cnn --train.steps 10 --data.augment crop_flip
aug1=$(last_json train_loss)
run 2 "${RGB[@]}" --model.kind cnn --train.steps 10 --data.augment crop_flip
aug2=$(last_json train_loss)
run 2 "${RGB[@]}" --model.kind cnn --train.steps 10
plain=$(last_json train_loss)
[[ -n $aug1 && $aug1 == "$aug2" ]] && pass "crop_flip: two runs, the same loss ($aug1)" || fail "crop_flip not deterministic: $aug1 vs $aug2"
[[ $aug1 != "$plain" ]] && pass "crop_flip changes the batches ($aug1 vs $plain)" || fail "crop_flip did nothing"

# --- bad input: one line, status 2 (every malformed layout: tests/data/hdf5_images_test.cpp) --
$PY - "$WORK" <<'EOF'
import sys, h5py, numpy as np
w = sys.argv[1]
def write(name, train_x, train_y):
    with h5py.File(f'{w}/{name}.h5', 'w') as f:
        f['train/images'], f['train/labels'] = train_x, train_y
        f['test/images'], f['test/labels'] = train_x, train_y
        f.attrs['num_classes'] = 10
x, y = np.zeros((8, 1, 4, 4), np.uint8), np.arange(8) % 10
write('dtype', x.astype(np.int32), y)
write('label', x, np.where(y == 7, 12, y))
EOF
mkdir -p "$WORK/dir.h5"; mkfifo "$WORK/fifo.h5"
bad=(
  "$WORK/none.h5|'$WORK/none.h5' does not exist"
  "$WORK/dir.h5|is a directory, not an HDF5 file"
  "$WORK/fifo.h5|is not a regular file"
  "$WORK/dtype.h5|train/images has dtype int32, expected uint8 or float32"
  "$WORK/label.h5|label 12 at index 7 is outside [0, 10)"
)
start=$SECONDS
for case in "${bad[@]}"; do
  E2E_TIMEOUT=30 run 2 train --data.name hdf5 --data.path "${case%%|*}" --train.steps 1
  expect_rc 2 "bad file ${case%%|*}"; expect_err "${case#*|}" "message for ${case%%|*}"
done
run 2 train --data.name hdf5;  expect_rc 2 "hdf5 without data.path"; expect_err "--data.path: '' is required for data.name=hdf5" "no path message"
run 2 train --data.name hdf5 --data.path "$WORK/rgb.h5" --data.num_classes 50; expect_rc 2 "labels over data.num_classes"
expect_err "(--data.num_classes)" "data.num_classes message"
run 2 train --data.augment mirror; expect_rc 2 "unknown augmentation"; expect_err "--data.augment: 'mirror' is not an augmentation" "augment message"
((SECONDS - start < 60)) && pass "bad files refused within seconds ($((SECONDS - start)) s for 8 runs)" || fail "bad files took $((SECONDS - start)) s"
finish
