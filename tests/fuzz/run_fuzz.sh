#!/usr/bin/env bash
# run_fuzz.sh TARGET FUZZER SECONDS: runs a libFuzzer target for SECONDS (SPROUT_FUZZ_SECONDS
# overrides) on a seed corpus; fails on any crash, sanitizer report, leak or timeout.
set -uo pipefail
target=$1 fuzzer=$2 seconds=${SPROUT_FUZZ_SECONDS:-$3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sprout-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/seeds"
case $target in
  idx)
    cp "$here"/seeds/idx/* "$work/seeds/"
    # Real files too (their first 64 KiB: a valid gzip prefix, i.e. a truncated stream).
    head -c 65536 /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz >"$work/seeds/labels-prefix.gz"
    ;;
  checkpoint)
    # Seeds: real checkpoints of a tiny run (with growth history and batch-norm buffers).
    # (leaks of the uninstrumented MPI stack at exit are not what this test is about)
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$SPROUT_BIN" train --data.name synthetic \
      --data.synthetic_train 64 --data.synthetic_test 16 --model.widths 3 --model.batch_norm true --train.batch 8 \
      --train.steps 4 --checkpoint.every 2 --checkpoint.dir "$work/ck" --growth.event 2:fc1:+1 \
      --checkpoint.around_growth true --log.progress none >/dev/null || { echo "could not make seed checkpoints"; exit 1; }
    cp "$work"/ck/*.h5 "$work/seeds/"
    ;;
esac
echo "fuzzing $target for $seconds s with $(ls "$work/seeds" | wc -l) seeds"
# -timeout: one input may take at most 10 s; -rss_limit_mb: 2 GiB. Leaks are checked after
# every input that allocated more than it freed; not at exit, where the MPI library (never
# finalized by a fuzzer) still holds its memory. fast_unwind_on_malloc=0: the one-off
# allocations of Open MPI plugins loaded on first use are then traced through their
# uninstrumented frames to the plugin (suppressed as mca_ in lsan.supp) instead of to an
# unnamed module; each input costs far more in MPI-IO and HDF5 than the slower unwinding.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:leak_check_at_exit=0:fast_unwind_on_malloc=0" "$fuzzer" "$work/corpus" "$work/seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/" 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if ((status != 0)); then
  echo "FAIL: $target fuzzer found a problem (status $status); reproducer:"
  ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null
  keep=${SPROUT_FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}/sprout-fuzz-artifacts}
  mkdir -p "$keep"
  for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [[ -e $f ]] || continue
    cp "$f" "$keep/$target-$(basename "$f")"; echo "kept $keep/$target-$(basename "$f")"; xxd "$f" | head -n 20
  done
  exit 1
fi
echo "ok: $target fuzzed for $seconds s without a finding"
