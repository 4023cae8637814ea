#!/usr/bin/env bash
# `sprout bench` end to end: each benchmark runs on 2 ranks and prints its numbers (not
# judged: speed is never asserted in tests); correctness columns and bad input are.
source "$(dirname "$0")/lib.sh"

run 1 bench --help;  expect_rc 0 "sprout bench --help"
for b in train allreduce grow; do grep -q "^  $b " "$WORK/out" || fail "bench --help lists $b"; done
run 1 bench;         expect_rc 2 "sprout bench without a name"
run 1 bench nonsense; expect_rc 2 "unknown benchmark"

run 2 bench train --data synthetic --model mlp --hidden 32 --batch 16 --steps 4 --warmup 1
expect_rc 0 "bench train mlp on 2 ranks"
grep -Eq '^sprout world=2 model=mlp hidden=32 batch=16 .*samples_per_s=[0-9.]+ step_ms=[0-9.]+' "$WORK/out" \
  && pass "bench train prints the anchor-style line" || fail "bench train line"
run 2 bench train --data synthetic --model mlp --hidden 32 --batch 16 --steps 2 --warmup 0 --optim adamw --shard state
expect_rc 0 "bench train with sharded AdamW state"
# AdamW: two fp32 moments per parameter, half of them on each of 2 ranks.
$PY -c "import re,sys; m = re.search(r'params=(\d+) peak_rss_mb=([\d.]+) state_mb=([\d.]+)$', sys.stdin.read().strip());
sys.exit(0 if m and float(m[2]) > 10 and abs(float(m[3]) - int(m[1]) * 8 / 2 / 2**20) < 0.01 else 1)" <"$WORK/out" \
  && pass "bench train reports peak memory and one rank's half of the state" || fail "bench train memory fields"
run 2 bench train --data synthetic --model mlp --hidden 32 --batch 16 --steps 2 --warmup 0 --allreduce scattered
expect_rc 0 "bench train with --allreduce scattered"
run 2 bench train --data synthetic --model cnn --hidden 16 --batch 8 --steps 2 --warmup 0 --overlap false
expect_rc 0 "bench train cnn without overlap"
grep -q 'model=cnn.*overlap=0' "$WORK/out" && pass "cnn, overlap=0 reported" || fail "cnn line"
# The model.* options of sprout train: a smaller ResNet and ViT than their defaults, and the
# MLP's widths overriding --hidden (the parameter counts say which model ran).
run 2 bench train --data synthetic --model resnet --model.widen 2 --batch 4 --steps 1 --warmup 0
expect_rc 0 "bench train resnet --model.widen 2"
wide=$(grep -o 'params=[0-9]*' "$WORK/out")
run 2 bench train --data synthetic --model.kind resnet --batch 4 --steps 1 --warmup 0
expect_rc 0 "bench train --model.kind resnet"
[[ -n $wide && $wide != $(grep -o 'params=[0-9]*' "$WORK/out") ]] && pass "model.widen reaches the model ($wide)" \
  || fail "model.widen ignored: $wide"
run 2 bench train --data synthetic --model vit --model.dim 16 --model.heads 2 --model.depth 1 --model.mlp 32 \
  --batch 4 --steps 1 --warmup 0
expect_rc 0 "bench train vit with model.* options"
grep -q 'model=vit.*params=' "$WORK/out" && pass "vit line" || fail "vit line"
run 2 bench train --data synthetic --model mlp --model.widths 8,8,8 --hidden 32 --batch 4 --steps 1 --warmup 0
grep -q 'params=6514 ' "$WORK/out" && pass "model.widths 8,8,8 wins over --hidden (784-8-8-8-10)" \
  || fail "mlp widths: $(cat "$WORK/out")"
run 2 bench train --model cnn --model.kind vit; expect_rc 2 "--model and --model.kind disagree"
expect_err "--model 'cnn' and --model.kind 'vit' name different families" "family conflict message"
run 2 bench train --model vit --model.heads 3; expect_rc 2 "vit heads not dividing dim"
run 2 bench train --model.kind nosuch; expect_rc 2 "unknown model.kind"
expect_err "unknown model 'nosuch'" "unknown model.kind message, once"

# Allreduce sweep: every size checked against the closed form (wrong = 0), 3 ranks too.
for np in 2 3; do
  run $np bench allreduce --min_bytes 8 --max_bytes 524288 --reps 1
  expect_rc 0 "bench allreduce on $np ranks"
  rows=$(grep -cE '^ +[0-9]+ ' "$WORK/out")
  bad=$(awk '/^ +[0-9]+ / && $NF != 0' "$WORK/out" | wc -l)
  [[ $rows -eq 17 && $bad -eq 0 ]] && pass "17 sizes, all correct ($np ranks)" || fail "allreduce rows=$rows wrong=$bad"
done

run 2 bench grow --data synthetic --hidden 32 --batch 8 --steps 3 --warmup 1 --events 2 --grow 8
expect_rc 0 "bench grow"
grep -Eq '^sprout-grow .*hidden=32->48 .*ratio_median=[0-9.]+ .*rebuilds=3' "$WORK/out" \
  && pass "bench grow: two events, three bucket layouts" || fail "bench grow line"

# Checkpoint bench: bandwidth beside the plain write, and the sync/async stall, tiny sizes.
run 2 bench checkpoint --size_mb 4 --repeat 1 --hidden 64 --dir "$WORK/ckbench"
expect_rc 0 "bench checkpoint"
grep -Eq '^median +[0-9.]+ +[0-9.]+ +[0-9]+% ' "$WORK/out" && pass "bench checkpoint: write beside plain write" \
  || fail "bench checkpoint bandwidth row"
grep -q 'async save: training stalled' "$WORK/out" && grep -q 'step with a write in flight' "$WORK/out" \
  && pass "bench checkpoint: sync vs async stall" || fail "bench checkpoint stall rows"
last_json stall >/dev/null && pass "bench checkpoint: JSON summary" || fail "bench checkpoint JSON"
[[ ! -e $WORK/ckbench ]] && pass "bench checkpoint cleans up" || fail "left: $(ls -R "$WORK/ckbench")"
run 2 bench checkpoint --part disk; expect_rc 2 "bad part"; expect_err "--part: 'disk' is not bandwidth, stall or all" "bad part message"
run 2 bench train --batch 0;     expect_rc 2 "bad batch";  expect_err "--batch: 0 must be in [1, 4096]" "bad batch message"
run 2 bench train --model rnn;   expect_rc 2 "bad model";  expect_err "--model: 'rnn' is not a model family (mlp, cnn, resnet, vit)" "bad model message"
run 2 bench train --shard all;   expect_rc 2 "bad shard";  expect_err "--shard: 'all' is not none, state or gradients" "bad shard message"
run 2 bench train --allreduce Ring; expect_rc 2 "bad allreduce"
expect_err "--allreduce must be auto, ring, hierarchical, scattered or mpi, got 'Ring'" "bad allreduce message"
run 2 bench allreduce --min_bytes 2; expect_rc 2 "bad size"; expect_err "--min_bytes: 2" "bad size message"
run 2 train --runtime.overlap maybe; expect_rc 2 "bad runtime.overlap"; expect_err "--runtime.overlap: 'maybe' is not a boolean" "overlap message"
finish
