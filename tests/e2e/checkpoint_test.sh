#!/usr/bin/env bash
# Checkpoints end to end: a 2-rank training killed (SIGKILL) mid-run and restarted on 3
# ranks with --resume auto continues to its final step; a checkpoint saved on 2 ranks
# restores on 1, 3 and 4 ranks bit for bit; h5py and h5dump read the files; sprout inspect
# and --resume reject damaged files with one clear line.
source "$(dirname "$0")/lib.sh"
CK="$WORK/ck"
TRAIN=(train --train.steps 1500 --train.batch 32 --model.widths 256,128 --train.log_every 100
       --log.progress lines --checkpoint.dir "$CK" --checkpoint.every 100 --checkpoint.keep 3)

# h5py_check FILE...: every tensor readable, its bytes hashing to its crc32 attribute.
h5py_check() {
  $PY - "$@" <<'EOF'
import sys, zlib, h5py, numpy as np
bad = 0
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.dtype.names is None else None)
        for n in names:
            a = np.ascontiguousarray(f[n][()])
            if zlib.crc32(a.tobytes()) & 0xFFFFFFFF != int(f[n].attrs["crc32"]):
                print("crc mismatch", path, n); bad += 1
        if not any(n.startswith("model/") for n in names):
            print("no model tensors in", path); bad += 1
sys.exit(1 if bad else 0)
EOF
}

# 1. Kill a 2-rank run once it has written a checkpoint at step >= 300.
timeout 300 mpirun -np 2 --oversubscribe "$SPROUT_BIN" "${TRAIN[@]}" >"$WORK/killed.out" 2>"$WORK/killed.err" &
LAUNCHER=$!
for _ in $(seq 1 1200); do
  latest=$(cat "$CK/latest" 2>/dev/null)
  step=${latest#step-}; step=${step%%.h5}
  [[ -n $latest ]] && ((10#$step >= 300)) && break
  sleep 0.1
done
RANKS=$(pgrep -P "$LAUNCHER" | xargs -r -n1 pgrep -P | tr '\n' ' ')  # timeout -> mpirun -> ranks
kill -9 $RANKS 2>/dev/null
wait "$LAUNCHER" 2>/dev/null
killed_at=$(cat "$CK/latest")
if [[ -n $killed_at ]] && ! grep -q '"step":1500' "$WORK/killed.out"; then
  pass "2-rank run killed (SIGKILL) after $killed_at"
else
  fail "the 2-rank run was not killed mid-run (latest '$killed_at')"
fi

# 2. Restart on 3 ranks with --resume auto: it continues to step 1500.
E2E_TIMEOUT=400 run 3 "${TRAIN[@]}" --resume auto
expect_rc 0 "restart on 3 ranks with --resume auto"
grep -q "resumed from $CK/.* (written by 2 ranks, restored on 3)" "$WORK/out" &&
  pass "resumed from a 2-rank checkpoint on 3 ranks" || fail "no resume line"
[[ $(last_json step) == 1500 ]] && pass "continued to the final step 1500" || fail "final step $(last_json step)"
[[ $(last_json world_size) == 3 ]] && pass "world size 3" || fail "world size $(last_json world_size)"
first=$(grep -o 'step [0-9]*/1500' "$WORK/out" | head -1)
[[ $first != "step 100/1500" ]] && pass "did not start over ($first)" || fail "started from step 0"
n=$(ls "$CK"/step-*.h5 | wc -l)
[[ $n -eq 3 ]] && pass "checkpoint.keep 3 left 3 files" || fail "$n checkpoint files: $(ls "$CK")"
ls "$CK" | grep -q '\.tmp$' && fail "temporary files left: $(ls "$CK")" || pass "no temporary files left"
h5py_check "$CK"/step-*.h5 && pass "h5py reads every tensor of every checkpoint, checksums match" ||
  fail "h5py check of $CK"
h5dump -H "$CK/step-00001500.h5" >"$WORK/dump" 2>&1 && grep -q 'DATASET "weight"' "$WORK/dump" &&
  pass "h5dump reads the file" || fail "h5dump: $(tail -3 "$WORK/dump")"

# 3. Saved on 2 ranks, restored on 1, 3 and 4 (0 steps to go), saved again: every tensor
#    identical, bit for bit.
SRC="$WORK/src"
run 2 train --train.steps 40 --train.batch 16 --model.widths 32 --optim.name adamw --model.batch_norm true \
  --checkpoint.dir "$SRC" --checkpoint.every 40 --log.progress none
expect_rc 0 "2-rank training with a checkpoint at step 40"
for np in 1 3 4; do
  run $np train --train.steps 40 --train.batch 16 --model.widths 32 --optim.name adamw --model.batch_norm true \
    --resume "$SRC/step-00000040.h5" --checkpoint.dir "$WORK/re$np" --checkpoint.at_end true --log.progress none
  expect_rc 0 "restore on $np rank(s)"
  $PY - "$SRC/step-00000040.h5" "$WORK/re$np/step-00000040.h5" $np <<'EOF' && pass "restored on $np = saved on 2, bitwise" || fail "restored on $np differs"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.dtype.names is None else None)
diff = [n for n in names if n in b and not np.array_equal(a[n][()], b[n][()])] + [n for n in names if n not in b]
if int(b.attrs["world_size"]) != int(sys.argv[3]): diff.append("world_size attribute")
for n in diff: print("differs:", n)
sys.exit(1 if diff else 0)
EOF
done

# 4. Damaged files: inspect and --resume name the file and the tensor.
run 1 inspect "$SRC/step-00000040.h5"
expect_rc 0 "inspect a good checkpoint"
grep -q "/model/fc1/weight .*float32 .*\[32, 784\].*ok" "$WORK/out" && grep -q "^verdict *ok" "$WORK/out" &&
  pass "inspect lists tensors with shapes and checksum status" || fail "inspect output"
BAD="$WORK/bad.h5"
cp "$SRC/step-00000040.h5" "$BAD"
off=$($PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['model/fc1/weight'].id.get_offset())" "$BAD")
printf '\xff\xff\xff\xff' | dd of="$BAD" bs=1 seek=$((off + 100)) conv=notrunc status=none
run 2 inspect "$BAD"
expect_rc 1 "inspect a checkpoint with flipped bytes"
grep -q "/model/fc1/weight.*BAD" "$WORK/out" && pass "inspect marks the damaged tensor" || fail "inspect did not mark it"
run 2 train --train.steps 41 --train.batch 16 --model.widths 32 --optim.name adamw --model.batch_norm true --resume "$BAD"
expect_rc 1 "--resume PATH with a damaged file"
expect_err "checkpoint '$BAD', tensor /model/fc1/weight: checksum mismatch" "the message names the file and the tensor"
head -c 20000 "$SRC/step-00000040.h5" >"$WORK/trunc.h5"
run 2 inspect "$WORK/trunc.h5"
expect_rc 1 "inspect a truncated checkpoint"
expect_err "checkpoint '$WORK/trunc.h5': not a readable HDF5 file" "truncated file message"
run 2 train --checkpoint.every -3
expect_rc 2 "negative checkpoint.every"
expect_err "--checkpoint.every: -3 must be >= 0" "checkpoint.every message"

BASIC=(train --data.name synthetic --data.synthetic_train 512 --data.synthetic_test 64 --model.widths 16
       --train.batch 16)
SMALL=("${BASIC[@]}" --log.progress none)
# 5. Pruning counts only usable checkpoints: entries named like checkpoints that are not
#    (a directory, a FIFO, a symlink to /dev/zero, a damaged file) take no keep slot and
#    are left alone; --resume auto falls back past them.
P="$WORK/prune"; mkdir -p "$P"
mkdir "$P/step-00000099.h5"; mkfifo "$P/step-00000098.h5"; ln -s /dev/zero "$P/step-00000097.h5"
echo "damaged" >"$P/step-00000096.h5"; echo "partial" >"$P/latest.tmp"
run 2 "${SMALL[@]}" --train.steps 6 --checkpoint.dir "$P" --checkpoint.every 1 --checkpoint.keep 2
expect_rc 0 "training next to entries that are not checkpoints"
[[ -f $P/step-00000006.h5 && -f $P/step-00000005.h5 && ! -e $P/step-00000004.h5 ]] &&
  pass "keep 2 kept the 2 newest good checkpoints" || fail "kept: $(ls "$P")"
[[ -d $P/step-00000099.h5 && -p $P/step-00000098.h5 && -L $P/step-00000097.h5 && -f $P/step-00000096.h5 ]] &&
  pass "entries that are not checkpoints are left alone" || fail "left: $(ls -l "$P")"
[[ ! -e $P/latest.tmp ]] && pass "a leftover latest.tmp is cleaned up" || fail "latest.tmp left"
rm "$P/latest"
E2E_TIMEOUT=60 run 2 "${BASIC[@]}" --log.progress lines --train.steps 8 --checkpoint.dir "$P" --resume auto
expect_rc 0 "--resume auto past the bad entries"
grep -q "resumed from $P/step-00000006.h5" "$WORK/out" && pass "resumed from the newest good checkpoint" ||
  fail "resume: $(grep resumed "$WORK/out")"

# 6. One job per checkpoint directory: a second job is refused with one line; the lock of
#    a job killed with SIGKILL disappears with it.
L="$WORK/locked"
timeout 120 mpirun -np 2 --oversubscribe "$SPROUT_BIN" "${SMALL[@]}" --train.steps 1000000 --checkpoint.dir "$L" \
  --checkpoint.every 100000 >"$WORK/first.out" 2>&1 &
FIRST=$!
for _ in $(seq 1 300); do grep -q pid "$L/lock" 2>/dev/null && break; sleep 0.1; done
run 2 "${SMALL[@]}" --train.steps 5 --checkpoint.dir "$L" --checkpoint.at_end true
expect_rc 2 "a second job on the same checkpoint.dir"
expect_err "checkpoint.dir '$L' is in use by another job (host " "the second job's message"
RANKS=$(pgrep -P "$FIRST" | xargs -r -n1 pgrep -P | tr '\n' ' ')
kill -9 $RANKS 2>/dev/null
wait "$FIRST" 2>/dev/null
run 2 "${SMALL[@]}" --train.steps 5 --checkpoint.dir "$L" --checkpoint.at_end true
expect_rc 0 "the lock of the killed job went with it"

# 7. A disk that fills while a checkpoint is written: the real cause, promptly, one line
#    (needs root to mount a small tmpfs; skipped otherwise).
T="$WORK/tiny"; mkdir -p "$T"
if mount -t tmpfs -o size=600k tmpfs "$T" 2>/dev/null; then
  start=$SECONDS
  E2E_TIMEOUT=60 run 2 train --data.name synthetic --data.synthetic_train 512 --data.synthetic_test 64 \
    --model.widths 256 --train.batch 16 --log.progress none --train.steps 3 --checkpoint.dir "$T/ck" \
    --checkpoint.every 1 --runtime.timeout 40
  took=$((SECONDS - start))
  expect_rc 1 "disk full during a checkpoint"
  expect_err "step-00000001.h5.tmp', tensor /" "disk full message names the file and the tensor"
  expect_err "No space left on device" "disk full message names the cause"
  ((took < 20)) && pass "disk full reported in $took s (runtime.timeout 40)" || fail "disk full took $took s"
  ls "$T/ck" | grep -q '\.tmp$' && fail "temporary file left on the full disk: $(ls "$T/ck")" || pass "no temporary file left"
  umount "$T"
else
  pass "disk-full check skipped: cannot mount a tmpfs here"
fi
finish
