#!/usr/bin/env bash
# The sprout CLI end to end: help, a real 2-rank training, and every bad-input path
# ending promptly with one clear line and a non-zero status, on 1 and 2 ranks.
source "$(dirname "$0")/lib.sh"

run 1 --help;        expect_rc 0 "sprout --help"
grep -q "train" "$WORK/out" || fail "--help lists train"
run 1 train --help;  expect_rc 0 "sprout train --help"
grep -q -- "--model.widths" "$WORK/out" || fail "train --help lists --model.widths"
run 1 nonsense;      expect_rc 2 "unknown command"

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
[[ $(wc -l <"$WORK/m.jsonl") -eq 3 ]] && pass "3 metrics lines" || fail "metrics lines: $(wc -l <"$WORK/m.jsonl")"
$PY -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$WORK/m.jsonl" && pass "metrics are JSON" || fail "metrics not JSON"

# Config files: INI sections, command line wins.
printf '[model]\nwidths = 16\n[train]\nsteps = 5\nbatch = 8\n[data]\nname = synthetic\n' >"$WORK/c.ini"
run 2 train --config "$WORK/c.ini" --model.widths 24
expect_rc 0 "config file + command line"
[[ $(last_json widths) == '{"fc1": 24}' ]] && pass "command line wins over the file" || fail "widths $(last_json widths)"

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
  run $np train --config "$WORK/typo.ini"; expect_rc 2 "config typo on $np rank(s)";     expect_err "model.widht" "config typo message ($np)"
  run $np train --data.name mnist --data.dir "$WORK/trunc"
  expect_nonzero "truncated IDX file on $np rank(s)"; expect_err "train-images-idx3-ubyte.gz: truncated gzip stream" "truncated IDX message ($np)"
  ((SECONDS - start < 60)) && pass "bad inputs end within seconds ($((SECONDS - start)) s for 6 runs)" || fail "bad inputs took $((SECONDS - start)) s"
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
finish
