#!/usr/bin/env bash
# Asynchronous checkpoints (checkpoint.async, runtime/checkpoint/async_save.h) end to end:
# the same training and the same tensors as synchronous saves; a run that dies and resumes
# from an async checkpoint ends bit for bit where the uninterrupted run ends; async
# checkpoints restore on other world sizes (2 -> 3, 3 -> 1); every save reports its cost
# (stall, write, bytes, MB/s) in the log and the metrics file; a disk that fills up during
# a background write ends the job with one line naming the file, and the previous
# checkpoint stays `latest` with nothing else that --resume auto could take.
source "$(dirname "$0")/lib.sh"

common=(train --data.name synthetic --data.synthetic_train 1024 --data.synthetic_test 256 --model.widths 24,16
        --optim.name adamw --train.batch 16 --train.steps 40 --train.log_every 5 --checkpoint.every 10
        --checkpoint.keep 0 --growth.event 15:fc1:+8 --runtime.timeout 20 --log.progress lines)

# 1. Sync and async: the same run, the same tensors in every checkpoint.
run 2 "${common[@]}" --checkpoint.dir "$WORK/sync"; expect_rc 0 "synchronous run"
ref_loss=$(last_json test_loss)
run 2 "${common[@]}" --checkpoint.dir "$WORK/async" --checkpoint.async true --log.metrics "$WORK/metrics.jsonl"
expect_rc 0 "asynchronous run"
[[ $(last_json test_loss) == "$ref_loss" ]] && pass "async saves leave training unchanged" \
  || fail "test loss $(last_json test_loss) != $ref_loss"
grep -Eq "checkpoint .*/step-00000020.h5: [0-9.]+ MB written in [0-9.]+ s \([0-9]+ MB/s\), training stalled [0-9.]+ s \(async" \
  "$WORK/out" && pass "each save logs bytes, write time, MB/s and stall" || fail "no checkpoint cost line"
$PY - "$WORK/sync" "$WORK/async" <<'PYEOF' && pass "async and sync checkpoints hold byte-identical tensors" || fail "tensors differ"
import sys, h5py, numpy as np
a_dir, b_dir = sys.argv[1:]
bad = 0
for step in (10, 20, 30, 40):
    name = "step-%08d.h5" % step
    with h5py.File(f"{a_dir}/{name}", "r") as a, h5py.File(f"{b_dir}/{name}", "r") as b:
        names = []
        a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.dtype.names is None else None)
        for n in names:
            if n == "rng/torch_cpu":
                continue
            x, y = a[n][()], b[n][()]
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes() or \
               int(a[n].attrs["crc32"]) != int(b[n].attrs["crc32"]):
                print("differs:", name, n); bad += 1
sys.exit(1 if bad else 0)
PYEOF
$PY - "$WORK/metrics.jsonl" <<'PYEOF' && pass "metrics file: one checkpoint event per save with its cost" || fail "metrics events"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if '"checkpoint"' in l]
events = [e for e in events if e.get("event") == "checkpoint"]
assert [e["step"] for e in events] == [10, 20, 30, 40], events
for e in events:
    assert e["async"] is True and e["bytes"] > 0 and e["write_seconds"] > 0 and e["mb_per_s"] > 0, e
    assert 0 <= e["stall_seconds"] and e["wait_seconds"] <= e["stall_seconds"] + 1e-9, e
PYEOF

# 2. A rank dies after step 25 (checkpoints were written in the background; the newest
#    committed one is `latest`): --resume auto continues from it and ends exactly where
#    the uninterrupted run ends.
SPROUT_TEST_FAULT=exit:step:25:1 run 2 "${common[@]}" --checkpoint.dir "$WORK/died" --checkpoint.async true
expect_nonzero "a rank exits after step 25"
from=$(cat "$WORK/died/latest")
[[ $from == step-00000010.h5 || $from == step-00000020.h5 ]] && pass "latest is a committed async checkpoint ($from)" \
  || fail "latest: '$from'"
run 2 "${common[@]}" --checkpoint.dir "$WORK/died" --checkpoint.async true --resume auto
expect_rc 0 "rerun with --resume auto"
grep -q "resumed from $WORK/died/$from at step" "$WORK/out" && pass "resumed from $from" \
  || fail "resume: $(grep resumed "$WORK/out")"
[[ $(last_json test_loss) == "$ref_loss" ]] && pass "resumed run equals the uninterrupted run bit for bit" \
  || fail "test loss $(last_json test_loss) != $ref_loss"

# 3. Resharding: written asynchronously by 2 ranks, restored by 3; by 3, restored by 1.
run 3 "${common[@]}" --checkpoint.dir "$WORK/r23" --resume "$WORK/async/step-00000020.h5"
expect_rc 0 "2 -> 3"
grep -q "written by 2 ranks, restored on 3" "$WORK/out" && pass "async checkpoint of 2 ranks restored on 3" || fail "2 -> 3"
run 3 "${common[@]}" --checkpoint.dir "$WORK/async3" --checkpoint.async true --train.steps 20
expect_rc 0 "asynchronous run on 3 ranks"
run 1 "${common[@]}" --checkpoint.dir "$WORK/r31" --resume "$WORK/async3/step-00000020.h5"
expect_rc 0 "3 -> 1"
grep -q "written by 3 ranks, restored on 1" "$WORK/out" && pass "async checkpoint of 3 ranks restored on 1" || fail "3 -> 1"

# 4. The disk fills up during the second background write (a tmpfs that holds one
#    checkpoint; needs root to mount it, skipped otherwise).
T="$WORK/tiny"; mkdir -p "$T"
if mount -t tmpfs -o size=2500k tmpfs "$T" 2>/dev/null; then
  start=$SECONDS
  E2E_TIMEOUT=60 run 2 train --data.name synthetic --data.synthetic_train 512 --data.synthetic_test 64 \
    --model.widths 256 --train.batch 16 --log.progress none --train.steps 30 --checkpoint.dir "$T/ck" \
    --checkpoint.every 10 --checkpoint.keep 1 --checkpoint.async true --runtime.timeout 20
  took=$((SECONDS - start))
  expect_rc 1 "disk full during an async write"
  expect_err "step-00000020.h5.tmp', tensor /" "the line names the file and the tensor"
  expect_err "No space left on device" "the line names the cause"
  ((took < 30)) && pass "disk full reported in $took s" || fail "disk full took $took s"
  [[ $(cat "$T/ck/latest") == step-00000010.h5 ]] && pass "the previous checkpoint stays latest" \
    || fail "latest: $(cat "$T/ck/latest")"
  [[ $(ls "$T/ck" | grep -E '^step-' | tr '\n' ' ') == "step-00000010.h5 " ]] \
    && pass "nothing but the previous checkpoint for --resume auto" || fail "left: $(ls "$T/ck")"
  "$SPROUT_BIN" inspect "$T/ck/step-00000010.h5" >/dev/null 2>&1 && pass "the previous checkpoint is intact" \
    || fail "step-00000010.h5 does not inspect"
  umount "$T"
else
  pass "disk-full check skipped: cannot mount a tmpfs here"
fi
finish
