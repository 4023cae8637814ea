#!/usr/bin/env bash
# Reproduces the tables of growth/README.md "Slimmable networks and the dynamic gate": the MLP and CNN
# example configs trained on Fashion-MNIST with 2 ranks, then every width and the dynamic
# gate evaluated on the test set, then `sprout eval --gate_confidence` on each final
# checkpoint (routing by the gate's cumulative probability at several confidences). Prints
# two Markdown tables; logs, metrics and checkpoints go to $OUT.
#   launch/scripts/slimmable_results.sh [OUT_DIR] [extra sprout train options...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SPROUT_BIN:-$ROOT/build/launch/sprout}
OUT=${1:-$ROOT/build/slimmable-results}
shift || true
mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# run NAME CONFIG [options...]
run() {
  local name=$1 config=$2; shift 2
  mpirun -np 2 --oversubscribe "$BIN" train --config "$ROOT/launch/configs/$config" \
    --log.progress lines --log.metrics "$OUT/$name.jsonl" --checkpoint.dir "$OUT/$name-ck" --checkpoint.at_end true \
    "$@" >"$OUT/$name.log"
  grep '^slimmable' "$OUT/$name.log" | sed "s/^/$name: /" >&2
  mpirun -np 2 --oversubscribe "$BIN" eval --checkpoint "$OUT/$name-ck" --width dynamic \
    --gate_confidence "$CONFIDENCES" | tail -n 1 >"$OUT/$name-confidence.json"
}
CONFIDENCES=${CONFIDENCES:-0.6,0.7,0.8,0.9,0.95,0.99}
run mlp slimmable_mlp.ini "$@"
run cnn slimmable_cnn.ini "$@"
# The same MLP after one supernet epoch: its widths differ more, so routing has more to gain.
run mlp-1epoch slimmable_mlp.ini --train.epochs 1 --slim.gate_steps 468 "$@"
/usr/bin/python3 - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]

def at_macs(fixed, m):
    """Accuracy of the static widths [(macs, accuracy)] interpolated linearly at m MACs."""
    lo = max((f for f in fixed if f[0] <= m), default=fixed[0])
    hi = min((f for f in fixed if f[0] >= m), default=fixed[-1])
    return lo[1] if hi[0] == lo[0] else lo[1] + (hi[1] - lo[1]) * (m - lo[0]) / (hi[0] - lo[0])

def table_rows(model):
    """The run's slimmable_eval rows, the largest width's MACs, and (macs, accuracy) of the static widths."""
    rows = [json.loads(l) for l in open(f"{out}/{model}.jsonl")]
    rows = [r for r in rows if r.get("event") == "slimmable_eval"]
    full = next(r for r in rows if r["width"] == "1")["macs_per_example"]
    fixed = sorted((r["macs_per_example"], r["test_accuracy"]) for r in rows if r["width"] not in ("dynamic", "oracle"))
    return rows, full, fixed

print("| model | width | test accuracy | MACs / example | % of largest | examples/s (2 ranks) | routed to 0.25 / 0.5 / 0.75 / 1 |")
print("|---|---|---|---|---|---|---|")
for model in ("mlp", "cnn", "mlp-1epoch"):
    rows, full, fixed = table_rows(model)
    for r in rows:
        routed = " / ".join(f"{100 * s:.1f}%" for s in r["route_share"]) if "route_share" in r else ""
        rate = "—" if r["width"] == "oracle" else f"{r['examples_per_s']:,.0f}"  # the oracle runs both widths
        print(f"| {model} | {r['width']} | {r['test_accuracy']:.4f} | {r['macs_per_example'] / 1e3:,.1f}k | "
              f"{100 * r['macs_per_example'] / full:.1f}% | {rate} | {routed} |")
    dyn = next((r for r in rows if r["width"] == "dynamic"), None)
    if dyn:
        # Fixed widths at the dynamic row's MACs: linear interpolation between neighbours.
        m = dyn["macs_per_example"]
        interp = at_macs(fixed, m)
        print(f"<!-- {model}: dynamic {dyn['test_accuracy']:.4f} at {100 * m / full:.1f}% MACs; fixed widths "
              f"interpolated at the same MACs {interp:.4f}; largest {fixed[-1][1]:.4f} -->")
print()
print("| model | gate confidence | test accuracy | % of largest MACs | fixed widths at the same MACs | routed to 0.25 / 0.5 / 0.75 / 1 |")
print("|---|---|---|---|---|---|")
for model in ("mlp", "cnn", "mlp-1epoch"):
    rows, full, fixed = table_rows(model)
    for r in json.load(open(f"{out}/{model}-confidence.json"))["widths"]:
        m = r["macs_per_example"]
        interp = at_macs(fixed, m)
        routed = " / ".join(f"{100 * s:.1f}%" for s in r["route_share"])
        c = "argmax" if r["width"] == "dynamic" else r["width"].split("@")[1]
        print(f"| {model} | {c} | {r['test_accuracy']:.4f} | {100 * m / full:.1f}% | {interp:.4f} | {routed} |")
PYEOF
