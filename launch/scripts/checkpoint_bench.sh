#!/usr/bin/env bash
# Checkpoint write/read bandwidth beside the disk's own sequential write, and the training
# stall of synchronous vs asynchronous saves: `sprout bench checkpoint` over checkpoint
# sizes and world sizes, each run measuring the plain write (dd-like, 8 MiB blocks, then
# fsync) of the same bytes in the same run. Prints a markdown table (stdout and
# launch/results/checkpoint.md).
#
# usage: launch/scripts/checkpoint_bench.sh [--sizes "256 1024"] [--worlds "1 2 4"]
#            [--repeat 2] [--stall_world 2] [--dir DIR] [--out FILE]
# SPROUT_BIN (or SPROUT_BUILD_DIR) picks the binary. DIR must be on the disk to measure
# (default: /tmp); it needs about twice the largest size free.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SPROUT=${SPROUT_BIN:-${SPROUT_BUILD_DIR:-$ROOT/build}/launch/sprout}
source "$ROOT/launch/scripts/results_lib.sh"
SIZES="256 1024" WORLDS="1 2 4" REPEAT=2 STALL_WORLD=2 DIR=/tmp OUTFILE=$ROOT/launch/results/checkpoint.md
while (($#)); do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --worlds) WORLDS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --stall_world) STALL_WORLD=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --out) OUTFILE=$2; shift 2 ;;
    *) echo "checkpoint_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -x $SPROUT ]] || { echo "checkpoint_bench.sh: no sprout binary at $SPROUT" >&2; exit 2; }
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
for size in $SIZES; do
  for np in $WORLDS; do
    echo "checkpoint_bench: $size MB on $np rank(s)" >&2
    mpirun -np "$np" "$SPROUT" bench checkpoint --part bandwidth --size_mb "$size" --repeat "$REPEAT" --dir "$DIR" \
      | tail -n 1 >>"$WORK/bandwidth.jsonl"
  done
done
echo "checkpoint_bench: stall on $STALL_WORLD rank(s)" >&2
mpirun -np "$STALL_WORLD" "$SPROUT" bench checkpoint --part stall --repeat "$REPEAT" --dir "$DIR" | tail -n 1 >"$WORK/stall.json"
/usr/bin/python3 - "$WORK/bandwidth.jsonl" "$WORK/stall.json" "$(uptime | sed 's/.*load average: //')" \
  "$SIZES" "$WORLDS" "$REPEAT" "$STALL_WORLD" <<'PYEOF' | tee "$OUTFILE"
import json, sys
bw = [json.loads(l) for l in open(sys.argv[1])]
st = json.load(open(sys.argv[2]))["stall"]
load, sizes, worlds, repeat, stall_world = sys.argv[3:]
print(f"Command: `launch/scripts/checkpoint_bench.sh --sizes \"{sizes}\" --worlds \"{worlds}\" --repeat {repeat}`"
      f" (medians of {repeat}; load average at the end: {load}).\n")
print("| size | ranks | checkpoint write MB/s | plain write + fsync MB/s | of plain | restore s | read MB/s | plain read MB/s |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in bw:
    print(f"| {r['size_mb']:.0f} MB | {r['ranks']} | {r['write_mb_s']:.0f} | {r['plain_write_mb_s']:.0f} | "
          f"{100 * r['write_of_plain']:.0f}% | {r['restore_s']:.2f} | {r['read_mb_s']:.0f} | {r['plain_read_mb_s']:.0f} |")
print()
print(f"Training stall, MLP 784-4096-4096-10 + AdamW ({st['checkpoint_mb']:.0f} MB checkpoint), {stall_world} ranks:\n")
print("| measure | value |")
print("|---|---:|")
print(f"| sync save: training stalled | {st['sync_stall_s']:.3f} s |")
print(f"| async save: training stalled | {st['async_stall_s']:.3f} s ({100 * st['stall_ratio']:.1f}% of sync) |")
print(f"| — of which snapshot + layout / commit | {st['async_start_s']:.3f} s / {st['async_commit_s']:.3f} s |")
print(f"| async background write | {st['async_write_s']:.2f} s ({st['checkpoint_mb'] / st['async_write_s']:.0f} MB/s) |")
print(f"| normal step | {1000 * st['step_s']:.0f} ms |")
print(f"| step with a write in flight | {1000 * st['step_in_flight_s']:.0f} ms ({st['in_flight_ratio']:.2f}× normal, "
      f"{st['steps_in_flight']} steps) |")
PYEOF
