#!/usr/bin/env bash
# The sprout CLI end to end: help, a real 2-rank training, and every bad-input path
# ending promptly with one clear line and a non-zero status, on 1 and 2 ranks.
source "$(dirname "$0")/lib.sh"

run 1 --help;        expect_rc 0 "sprout --help"
grep -q "train" "$WORK/out" || fail "--help lists train"
run 1 train --help;  expect_rc 0 "sprout train --help"
grep -q -- "--model.widths" "$WORK/out" || fail "train --help lists --model.widths"
run 1 nonsense;      expect_rc 2 "unknown command"
run 1 train --help
[[ $(grep -c '^ \[runtime\]$' "$WORK/out") -eq 1 ]] && pass "train --help: [runtime] once" || fail "[runtime] sections: $(grep -c '^ \[runtime\]$' "$WORK/out")"
[[ $(grep -c '^ \[' "$WORK/out") -eq $(grep '^ \[' "$WORK/out" | sort -u | wc -l) ]] && pass "train --help: each section once" || fail "a section appears twice"
grep -q "step_sleep_ms\|TEST ONLY" "$WORK/out" && fail "train --help shows a test-only option" || pass "train --help hides test-only options"
grep -q -- "--train.epochs (=1)" "$WORK/out" && pass "train --help: train.epochs default 1" || fail "train.epochs default"
run 1 merge --help
for m in magmax average task_arithmetic ties; do grep -q "$m" "$WORK/out" || fail "merge --help lacks method $m"; done
grep -q -- "--ties.density (=0.2)" "$WORK/out" && pass "merge --help lists the methods and ties.density" || fail "merge --help: ties.density"

# A short real training on Fashion-MNIST, 2 ranks; last stdout line is the JSON summary.
run 2 train --train.steps 150 --train.batch 64 --model.widths 128 --log.metrics "$WORK/m.jsonl" --train.log_every 50
expect_rc 0 "2-rank Fashion-MNIST training"
acc=$(last_json test_accuracy); ws=$(last_json world_size); widths=$(last_json widths)
for key in step train_loss test_accuracy samples_per_s world_size widths; do
  last_json "$key" >/dev/null 2>&1 || fail "summary lacks $key"
done
$PY -c "import sys; sys.exit(0 if float('$acc') > 0.70 else 1)" && pass "accuracy $acc > 0.70" || fail "accuracy $acc"
[[ $ws == 2 ]] && pass "world_size 2" || fail "world_size $ws"
[[ $widths == '{"fc1": 128}' ]] && pass "widths $widths" || fail "widths $widths"
[[ $(wc -l <"$WORK/m.jsonl") -eq 4 ]] && pass "4 metrics lines (3 steps, the final evaluation)" || fail "metrics lines: $(wc -l <"$WORK/m.jsonl")"
$PY -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$WORK/m.jsonl" && pass "metrics are JSON" || fail "metrics not JSON"

# Config files: INI sections, command line wins.
printf '[model]\nwidths = 16\n[train]\nsteps = 5\nbatch = 8\n[data]\nname = synthetic\n' >"$WORK/c.ini"
run 2 train --config "$WORK/c.ini" --model.widths 24
expect_rc 0 "config file + command line"
[[ $(last_json widths) == '{"fc1": 24}' ]] && pass "command line wins over the file" || fail "widths $(last_json widths)"

# A repeated option: the last one wins (also over the file).
run 2 train --config "$WORK/c.ini" --model.widths 24 --model.widths=12
expect_rc 0 "repeated option"
[[ $(last_json widths) == '{"fc1": 12}' ]] && pass "the last --model.widths wins" || fail "widths $(last_json widths)"

# The batch script's own defaults come first, so the user's options override them:
# cluster/train.sbatch run outside Slurm (mpirun on 1 rank) with a --checkpoint.dir of its own.
printf '[data]\nname = synthetic\n[model]\nwidths = 8\n[train]\nsteps = 2\n' >"$WORK/job.ini"
(cd "$WORK" && SPROUT_BIN=$SPROUT_BIN timeout 120 bash "$SPROUT_SOURCE_DIR/cluster/train.sbatch" job.ini \
  --checkpoint.dir "$WORK/runs/a" --checkpoint.at_end true >"$WORK/out" 2>"$WORK/err")
RC=$?
expect_rc 0 "train.sbatch job.ini --checkpoint.dir runs/a"
[[ -f $WORK/runs/a/latest && ! -e $WORK/checkpoints ]] && pass "the user's checkpoint.dir overrides the script's" \
  || fail "checkpoint not in runs/a: $(ls "$WORK" "$WORK/runs/a" 2>&1 | tr '\n' ' ')"
# cluster/fedcl.sbatch with a stub binary that prints its arguments: the user's
# --fedcl.nodes comes after the script's default, so it is the one that counts.
printf '#!/bin/sh\necho "$@"\n' >"$WORK/stub"; chmod +x "$WORK/stub"
(cd "$WORK" && SPROUT_BIN=$WORK/stub SLURM_JOB_NUM_NODES=2 timeout 60 bash "$SPROUT_SOURCE_DIR/cluster/fedcl.sbatch" job.ini \
  --fedcl.nodes 3 >"$WORK/out" 2>"$WORK/err")
grep -q -- "--fedcl.nodes 2 .*--fedcl.nodes 3" "$WORK/out" && pass "fedcl.sbatch: the user's --fedcl.nodes comes last" \
  || fail "fedcl.sbatch arguments: $(cat "$WORK/out")"

# Bad input, on 1 and on 2 ranks.
mkdir -p "$WORK/trunc"
cp /usr/share/datasets/fashion-mnist/*.gz "$WORK/trunc/"
head -c 3000000 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz >"$WORK/trunc/train-images-idx3-ubyte.gz"
printf '[model]\nwidht = 3\n' >"$WORK/typo.ini"
for np in 1 2; do
  start=$SECONDS
  run $np train --train.batch 0;          expect_rc 2 "batch 0 on $np rank(s)";          expect_err "--train.batch: 0 must be > 0" "batch 0 message ($np)"
  run $np train --bogus 1;                expect_rc 2 "unknown option on $np rank(s)";   expect_err "unknown option '--bogus'" "unknown option message ($np)"
  run $np train --model.widths 64,-3;     expect_rc 2 "negative width on $np rank(s)";   expect_err "model.widths" "negative width message ($np)"
  run $np train --data.dir /no/such/dir;  expect_rc 2 "missing data dir on $np rank(s)"; expect_err "'/no/such/dir' is not a directory" "missing dir message ($np)"
  run $np train --config "$WORK/typo.ini"; expect_rc 2 "config typo on $np rank(s)";     expect_err "unknown option 'model.widht' (did you mean model.widen or model.widths?)" "config typo message ($np)"
  run $np train --train.step 50;          expect_rc 2 "abbreviated option on $np rank(s)"; expect_err "unknown option '--train.step' (did you mean --train.steps?)" "abbreviation hint ($np)"
  run $np train --optim.lrr 0.1;          expect_rc 2 "misspelled option on $np rank(s)"; expect_err "unknown option '--optim.lrr' (did you mean --optim.lr?)" "misspelling hint ($np)"
  run $np train --data.name mnist --data.dir "$WORK/trunc"
  expect_nonzero "truncated IDX file on $np rank(s)"; expect_err "train-images-idx3-ubyte.gz: truncated gzip stream" "truncated IDX message ($np)"
  ((SECONDS - start < 60)) && pass "bad inputs end within seconds ($((SECONDS - start)) s for 8 runs)" || fail "bad inputs took $((SECONDS - start)) s"
done

# Models too large for any machine (hard limits), or for this one (the memory estimate),
# are refused before anything is allocated: one line naming the width options, status 2.
wide40k=$(printf '40000,%.0s' {1..30}); wide40k=${wide40k%,}
too_large=(
  "width limit|model.widths|--model.widths 1000000000,64"
  "tensor limit|--model.widths 3000000,64|--model.widths 3000000,64"
  "grown past the tensor limit|grows (growth schedule)|--model.widths 64 --growth.event 10:fc1:+3000000"
  "machine memory, MLP|training needs at least|--model.widths $wide40k"
  "machine memory, CNN channels|--model.conv 1000000,64 --model.widths 128|--model.kind cnn --model.conv 1000000,64 --model.widths 128"
)
for case in "${too_large[@]}"; do
  IFS='|' read -r label message options <<<"$case"
  start=$SECONDS
  # shellcheck disable=SC2086  # options are words
  run 2 train --train.steps 20 $options
  expect_rc 2 "too large ($label)"; expect_err "$message" "too large ($label): one line"
  ! grep -qE "Exception raised from|frame #" "$WORK/err" || fail "too large ($label): a LibTorch backtrace"
  ((SECONDS - start < 20)) && pass "too large ($label): refused in $((SECONDS - start)) s" || fail "too large ($label) took $((SECONDS - start)) s"
done

# Files that are not regular files, or too large, are refused at once, naming the file:
# a FIFO never blocks, /dev/zero never fills memory, a directory is not "empty".
mkfifo "$WORK/fifo.ini"; mkdir -p "$WORK/dir.ini"
head -c 2000000 /dev/zero | tr '\0' '#' >"$WORK/big.ini"
mkdir -p "$WORK/fifo-data"; cp /usr/share/datasets/fashion-mnist/*.gz "$WORK/fifo-data/"
rm "$WORK/fifo-data/train-labels-idx1-ubyte.gz"; mkfifo "$WORK/fifo-data/train-labels-idx1-ubyte.gz"
mkdir -p "$WORK/dir-data"; cp /usr/share/datasets/fashion-mnist/*.gz "$WORK/dir-data/"
rm "$WORK/dir-data/train-images-idx3-ubyte.gz"; mkdir "$WORK/dir-data/train-images-idx3-ubyte.gz"
start=$SECONDS
for cfg in "$WORK/fifo.ini:is a FIFO" "/dev/zero:is a device" "$WORK/dir.ini:is a directory" "$WORK/big.ini:is 2000000 bytes, over the limit"; do
  E2E_TIMEOUT=30 run 2 train --config "${cfg%%:*}"
  expect_rc 2 "--config ${cfg%%:*}"; expect_err "--config: '${cfg%%:*}' ${cfg#*:}" "--config ${cfg%%:*} message"
done
E2E_TIMEOUT=30 run 2 train --data.name mnist --data.dir "$WORK/fifo-data"
expect_nonzero "a FIFO as IDX file"; expect_err "fifo-data/train-labels-idx1-ubyte.gz: is not a regular file" "IDX FIFO message"
E2E_TIMEOUT=30 run 2 train --data.name mnist --data.dir "$WORK/dir-data"
expect_nonzero "a directory as IDX file"; expect_err "dir-data/train-images-idx3-ubyte.gz: is a directory" "IDX directory message"
((SECONDS - start < 60)) && pass "special files end within seconds ($((SECONDS - start)) s)" || fail "special files took $((SECONDS - start)) s"

# Ranks started with different commands end at once with one line: the first collective
# is bounded and compares the command (an MPMD launch).
for other in "eval --help" "merge --method magmax" "train --help"; do
  start=$SECONDS
  timeout 60 mpirun -np 1 "$SPROUT_BIN" train --data.name synthetic --model.widths 8 : \
    -np 1 "$SPROUT_BIN" $other >"$WORK/out" 2>"$WORK/err"
  RC=$?
  expect_rc 2 "train : $other"
  expect_err "ranks were started with different commands: 'train' on rank 0, '${other%% *}'" "train : $other message"
  ((SECONDS - start < 20)) && pass "train : $other ends in $((SECONDS - start)) s" || fail "train : $other took $((SECONDS - start)) s"
done

# Ranks started with different configurations are refused before training.
timeout 60 mpirun -np 1 "$SPROUT_BIN" train --data.name synthetic --model.widths 8 : \
  -np 1 "$SPROUT_BIN" train --data.name synthetic --model.widths 16 >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 2 "desynchronised configs"
expect_err "--model.widths is '8' on rank 0 but '16' on rank 1" "desync message names the option"
# A diverged run ends on every rank at the same step with one line (the ranks agree on it
# with the step's allreduce) and status 1, on 2 and 3 ranks.
for np in 2 3; do
  run $np train --data.name synthetic --model.widths 8 --optim.lr 1e30 --train.steps 20
  expect_rc 1 "diverged run on $np ranks"
  expect_err "training diverged at step" "diverged run on $np ranks: one line"
done

finish
