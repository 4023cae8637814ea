#!/usr/bin/env bash
# Sharded optimizer state, gradient accumulation and clipping through `sprout train`:
# bad values end with one line and status 2; runs with optim.shard=state and =gradients on
# 3 ranks that grow their model write the same checkpoint, bit for bit, as the unsharded
# run; the sharded checkpoint restores unsharded on 2 ranks and sharded on 4 and is saved
# again identical; the summary reports peak_rss_mb and optimizer_state_mb (halved by
# sharding on 2 ranks); clipping logs the same norm from whole and from sharded gradients;
# bf16 autocast reaches fp32's accuracy.
source "$(dirname "$0")/lib.sh"

# 1. Bad values.
for bad in "--optim.shard everything:--optim.shard: 'everything' is not a shard setting (none, state, gradients)" \
           "--train.accumulate 0:--train.accumulate: 0 must be in [1, 4096]" \
           "--optim.clip_norm -1:--optim.clip_norm: -1 must be > 0 (or 0: off)" \
           "--optim.clip_norm nan:--optim.clip_norm: 'nan' is not a finite number" \
           "--runtime.precision fp16:--runtime.precision: 'fp16' is not a precision (fp32, bf16)"; do
  args=${bad%%:*}; msg=${bad#*:}
  run 2 train --data.name synthetic --train.steps 2 $args
  expect_rc 2 "refused: $args"; expect_err "$msg" "one line for $args"
done

# 2. Sharded = unsharded, through growth, bitwise (3 ranks: uneven slices).
TRAIN=(train --data.name synthetic --train.steps 8 --train.batch 8 --model.widths 24,16 --optim.name adamw
       --optim.weight_decay 0.01 --growth.event 4:fc1:+5 --checkpoint.at_end true --log.progress none)
for shard in none state gradients; do
  run 3 "${TRAIN[@]}" --optim.shard $shard --checkpoint.dir "$WORK/$shard"
  expect_rc 0 "3 ranks, optim.shard=$shard, growth at step 4"
done
# compare A B WORLD [SKIP]: every tensor of A (but SKIP) in B with the same bits; B written by WORLD ranks
compare() {
  $PY - "$@" <<'PYEOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.dtype.names is None else None)
names = [n for n in names if n not in sys.argv[4:]]
diff = [n for n in names if n not in b or not np.array_equal(a[n][()], b[n][()])]
if not any(n.startswith("optimizer/") for n in names): diff.append("no optimizer state stored")
if int(b.attrs["world_size"]) != int(sys.argv[3]): diff.append("world_size attribute")
for n in diff: print("differs:", n)
sys.exit(1 if diff else 0)
PYEOF
}
CK=step-00000008.h5
# The saved state of LibTorch's default generator differs between any two runs (it is
# restored, not reproduced): compared in the restores below only.
for shard in state gradients; do
  compare "$WORK/none/$CK" "$WORK/$shard/$CK" 3 rng/torch_cpu && pass "optim.shard=$shard run's checkpoint = unsharded run's, bitwise" ||
    fail "optim.shard=$shard and unsharded checkpoints differ"
done

# 3. Written sharded on 3 ranks; restored unsharded on 2 and sharded on 4, saved again: identical.
for spec in "2 none" "4 state" "4 gradients"; do
  set -- $spec
  run $1 "${TRAIN[@]}" --optim.shard $2 --resume "$WORK/state/$CK" --checkpoint.dir "$WORK/re$1"
  expect_rc 0 "restore on $1 ranks with optim.shard=$2"
  compare "$WORK/state/$CK" "$WORK/re$1/$CK" $1 && pass "restored on $1 ($2) = written sharded on 3, bitwise" ||
    fail "restored on $1 ($2) differs"
done

# 4. Summary figures: state per rank halves on 2 ranks; accumulation and clipping run.
for shard in none state gradients; do
  run 2 train --data.name synthetic --train.steps 3 --optim.name adamw --optim.shard $shard --log.progress none
  expect_rc 0 "2 ranks, optim.shard=$shard"
  eval "state_$shard=$(last_json optimizer_state_mb)"; rss=$(last_json peak_rss_mb)
  $PY -c "import sys; sys.exit(0 if float('$rss') > 10 else 1)" && pass "peak_rss_mb reported ($rss)" || fail "peak_rss_mb '$rss'"
done
for shard in state gradients; do
  eval "b=\$state_$shard"
  $PY -c "import sys; a, b = $state_none, $b; sys.exit(0 if a > 0 and abs(b / a - 0.5) < 0.01 else 1)" &&
    pass "optimizer_state_mb per rank: $b with optim.shard=$shard vs $state_none (2 ranks)" ||
    fail "optimizer_state_mb: $b with optim.shard=$shard vs $state_none"
done
# Clipping reads the norm from whole gradients (none) or from each rank's pieces (gradients):
# the same norm either way.
for shard in none gradients; do
  run 2 train --data.name synthetic --train.steps 4 --train.accumulate 3 --optim.clip_norm 0.5 --train.log_every 2 \
    --optim.shard $shard --log.metrics "$WORK/m_$shard.jsonl" --log.progress none
  expect_rc 0 "accumulate 3 with clipping, optim.shard=$shard"
  [[ $(last_json step) == 4 ]] && pass "4 optimizer steps" || fail "step $(last_json step)"
done
$PY - "$WORK/m_none.jsonl" "$WORK/m_gradients.jsonl" <<'PYEOF' && pass "metrics log the same gradient norm" || fail "grad_norm missing or different"
import json, sys
norms = [[json.loads(l)["grad_norm"] for l in open(p) if '"train_loss"' in l] for p in sys.argv[1:]]
print("grad_norm:", norms)
sys.exit(0 if norms[0] and all(n > 0 for n in norms[0]) and
         all(abs(a - b) <= 1e-5 * a for a, b in zip(*norms)) and len(norms[0]) == len(norms[1]) else 1)
PYEOF
# 5. bf16 autocast trains the same model to about the same accuracy as fp32.
for precision in fp32 bf16; do
  run 2 train --data.name synthetic --train.steps 30 --train.batch 16 --model.widths 32 --runtime.precision $precision \
    --log.progress none
  expect_rc 0 "runtime.precision=$precision"
  eval "acc_$precision=$(last_json test_accuracy)"
done
$PY -c "import sys; sys.exit(0 if $acc_bf16 > 0.8 and abs($acc_bf16 - $acc_fp32) < 0.05 else 1)" &&
  pass "bf16 test accuracy $acc_bf16 vs fp32 $acc_fp32" || fail "bf16 test accuracy $acc_bf16 vs fp32 $acc_fp32"
finish
