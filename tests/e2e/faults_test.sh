#!/usr/bin/env bash
# Failure agreement under fault injection (SPROUT_TEST_FAULT, runtime/fault_injection.h):
# a rank that throws, exits, is SIGKILLed or hangs — after a step, inside a checkpoint
# write or inside a growth event — ends the whole job promptly with a non-zero status and a
# message naming the rank; no half-written file is ever taken as a checkpoint; and a rerun
# with --resume auto continues from the newest complete checkpoint, repeats at most one
# checkpoint interval, and ends exactly where an uninterrupted run ends (bit for bit:
# the same test loss). With checkpoint.async, a rank that throws or is SIGKILLed inside
# the background write (place checkpoint-write) does the same.
source "$(dirname "$0")/lib.sh"

common=(train --data.name synthetic --data.synthetic_train 1024 --data.synthetic_test 256 --model.widths 24,16
        --train.batch 16 --train.steps 40 --train.log_every 5 --checkpoint.every 10 --checkpoint.keep 0
        --growth.event 15:fc1:+8 --runtime.timeout 8 --log.progress lines)

# The reference: the same run, uninterrupted.
run 2 "${common[@]}" --checkpoint.dir "$WORK/ref2"; expect_rc 0 "uninterrupted run (2 ranks)"
ref_loss2=$(last_json test_loss)
run 3 "${common[@]}" --checkpoint.dir "$WORK/ref3"; expect_rc 0 "uninterrupted run (3 ranks)"
ref_loss3=$(last_json test_loss)

# newest_complete DIR: the step of the newest committed checkpoint (what --resume auto takes).
newest_complete() { ls "$1" | grep -E '^step-[0-9]+(-[a-z-]+)?\.h5$' | sort | tail -n 1 | sed -E 's/^step-0*([0-9]+).*/\1/'; }

for np in 2 3; do
  ref_loss=$ref_loss2; [[ $np == 3 ]] && ref_loss=$ref_loss3
  victim=$((np - 1))
  for kind in throw exit kill hang; do
    for place in step:25 checkpoint:20 growth:15; do
      label="$kind at ${place/:/ } on rank $victim of $np"
      dir=$WORK/ck-$np-$kind-${place%%:*}
      start=$SECONDS
      SPROUT_TEST_FAULT="$kind:$place:$victim" E2E_TIMEOUT=90 run $np "${common[@]}" --checkpoint.dir "$dir"
      took=$((SECONDS - start))
      # (mpirun itself returns 137 when a rank was SIGKILLed; promptness is the time check)
      [[ $RC -ne 0 && $RC -ne 124 ]] && pass "$label ends the job (status $RC)" || fail "$label: status $RC"
      # The watchdog (8 s) bounds the hang; everything else ends within a few seconds.
      ((took < 60)) && pass "$label: ended in $took s" || fail "$label: took $took s"
      case $kind in
        throw) grep -q "sprout: rank $victim: injected test fault" "$WORK/err" && pass "$label: message names rank and cause" \
                 || fail "$label: no 'sprout: rank $victim: injected test fault' line" ;;
        hang)  grep -Eq "sprout: rank [0-9]+: timed out after 8 s waiting in .* \((step|growth step|checkpoint)" "$WORK/err" \
                 && pass "$label: timeout message names the operation and step" || fail "$label: no timeout message" ;;
        *)     grep -Eq "rank $victim .*(exited|signal 9|Killed)|process rank $victim|\[\[[0-9]+,1\],$victim\]" "$WORK/err" \
                 && pass "$label: mpirun names the failed rank" || fail "$label: failed rank not named" ;;
      esac
      # Every file `auto` may take is complete: inspect passes on each committed file.
      bad=0
      for f in "$dir"/step-*.h5; do [[ -e $f ]] || continue; "$SPROUT_BIN" inspect "$f" >/dev/null 2>&1 || bad=1; done
      ((bad == 0)) && pass "$label: every committed checkpoint is complete" || fail "$label: a committed checkpoint is damaged"
      from=$(newest_complete "$dir")
      run $np "${common[@]}" --checkpoint.dir "$dir" --resume auto
      expect_rc 0 "$label: rerun with --resume auto"
      resumed=$(grep -o 'resumed from [^ ]* at step [0-9]*' "$WORK/out" | grep -o '[0-9]*$')
      fault_step=${place#*:}
      [[ $resumed == "$from" ]] && pass "$label: resumed from the newest complete checkpoint (step $resumed)" \
        || fail "$label: resumed from '$resumed', newest complete is '$from'"
      [[ -n $resumed ]] && ((fault_step - resumed <= 10)) && pass "$label: repeats $((fault_step - resumed)) ≤ 10 steps" \
        || fail "$label: repeats too much (fault at $fault_step, resumed at '$resumed')"
      [[ $(last_json step) == 40 ]] && pass "$label: reaches step 40" || fail "$label: final step $(last_json step)"
      [[ $(last_json test_loss) == "$ref_loss" ]] && pass "$label: same result as the uninterrupted run" \
        || fail "$label: test loss $(last_json test_loss) != $ref_loss"
    done
  done
done
# Asynchronous checkpoints: the fault inside the background writer thread.
for np in 2 3; do
  ref_loss=$ref_loss2; [[ $np == 3 ]] && ref_loss=$ref_loss3
  victim=$((np - 1))
  for kind in throw kill; do
    label="async: $kind inside the background write of step 20 on rank $victim of $np"
    dir=$WORK/async-$np-$kind
    start=$SECONDS
    SPROUT_TEST_FAULT="$kind:checkpoint-write:20:$victim" E2E_TIMEOUT=90 run $np "${common[@]}" --checkpoint.dir "$dir" \
      --checkpoint.async true
    took=$((SECONDS - start))
    [[ $RC -ne 0 && $RC -ne 124 ]] && pass "$label ends the job (status $RC)" || fail "$label: status $RC"
    ((took < 60)) && pass "$label: ended in $took s" || fail "$label: took $took s"
    case $kind in
      throw) grep -q "^sprout: rank 0: .*injected test fault at checkpoint-write 20 (rank $victim)" "$WORK/err" \
               && pass "$label: the agreed line names rank and cause" || fail "$label: no agreed line naming rank $victim" ;;
      *)     grep -Eq "rank $victim .*(exited|signal 9|Killed)|process rank $victim|\[\[[0-9]+,1\],$victim\]" "$WORK/err" \
               && pass "$label: mpirun names the failed rank" || fail "$label: failed rank not named" ;;
    esac
    [[ $(cat "$dir/latest") == step-00000010.h5 ]] && pass "$label: step 10 stays latest" || fail "$label: latest $(cat "$dir/latest")"
    [[ -e $dir/step-00000020.h5 ]] && fail "$label: step-00000020.h5 exists" || pass "$label: no step-20 checkpoint"
    run $np "${common[@]}" --checkpoint.dir "$dir" --checkpoint.async true --resume auto
    expect_rc 0 "$label: rerun with --resume auto"
    grep -q "resumed from $dir/step-00000010.h5 at step 10" "$WORK/out" && pass "$label: resumed from step 10" \
      || fail "$label: $(grep resumed "$WORK/out")"
    [[ $(last_json test_loss) == "$ref_loss" ]] && pass "$label: same result as the uninterrupted run" \
      || fail "$label: test loss $(last_json test_loss) != $ref_loss"
  done
done
finish
