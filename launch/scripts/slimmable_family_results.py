#!/usr/bin/python3
"""Summarise launch/scripts/slimmable_family_results.sh: a markdown table and the accuracy–MACs plot.

Reads OUT/seed<k>.jsonl (the run's "slimmable_eval" rows: every static width, the gate's
argmax "dynamic", the "oracle") and OUT/seed<k>-confidence.json (`sprout eval
--gate_confidence`: the gate routed at several confidences), and writes OUT/results.md and
OUT/slimmable-<family>.png. "Static at the same MACs" interpolates the static widths' accuracy
linearly in MACs between neighbours, per seed; the gate is above the static curve where its
accuracy minus that is > 0.
"""
import argparse
import glob
import json
import os
import re
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


MODEL = {
    "resnet": "ResNet-10 at half width (stem 8, stages 8-16-32) slimmable in every block's inner width and "
              "in its three stages (the residual stream), SGD momentum 0.9, lr 0.05 cosine, weight decay 5e-4",
    "vit": "ViT (7×7 patches, width 64, 2 blocks, 4 heads, MLP 128) slimmable in every block's MLP width, "
           "AdamW lr 0.002, 5 % warm-up, cosine, weight decay 0.05",
}


def at_macs(static, m):
    """Accuracy of the static widths [(macs, accuracy)] interpolated linearly at m MACs."""
    lo = max((s for s in static if s[0] <= m), default=static[0])
    hi = min((s for s in static if s[0] >= m), default=static[-1])
    return lo[1] if hi[0] == lo[0] else lo[1] + (hi[1] - lo[1]) * (m - lo[0]) / (hi[0] - lo[0])


def mean_std(values, scale=100.0, digits=2):
    m = statistics.mean(values) * scale
    s = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def load(out):
    seeds = {}
    for path in sorted(glob.glob(os.path.join(out, "seed*.jsonl"))):
        seed = int(re.match(r"seed(\d+)\.jsonl$", os.path.basename(path)).group(1))
        rows = [json.loads(l) for l in open(path)]
        rows = [r for r in rows if r.get("event") == "slimmable_eval"]
        conf_path = os.path.join(out, f"seed{seed}-confidence.json")
        confidence = json.load(open(conf_path))["widths"] if os.path.exists(conf_path) else []
        seeds[seed] = {"rows": rows, "confidence": confidence}
    return seeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--family", choices=sorted(MODEL), default="resnet")
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--gate-steps", type=int, default=0)
    args = ap.parse_args()
    seeds = load(args.out)
    first = next(iter(seeds.values()))["rows"]
    full = next(r for r in first if r["width"] == "1")["macs_per_example"]
    static_widths = [r["width"] for r in first if r["width"] not in ("dynamic", "oracle")]

    md = [f"Fashion-MNIST, 2 ranks, {MODEL[args.family]}; {args.steps} supernet steps + {args.gate_steps} gate "
          f"steps, global batch 128; seeds {', '.join(map(str, sorted(seeds)))} (mean ± sample std). "
          f"MACs per example at full width: {full / 1e6:.2f} M."]
    md += ["", "| width | test accuracy (%) | MACs / example | % of full | routed to 0.25 / 0.5 / 0.75 / 1 (mean) |",
           "|---|---|---:|---:|---|"]
    by_width = {}
    for s in seeds.values():
        for r in s["rows"]:
            by_width.setdefault(r["width"], []).append(r)
    for c in sorted({c["width"] for s in seeds.values() for c in s["confidence"] if "@" in c["width"]},
                    key=lambda w: float(w.split("@")[1])):
        by_width[c] = [x for s in seeds.values() for x in s["confidence"] if x["width"] == c]
    for w, rows in by_width.items():
        macs = statistics.mean(r["macs_per_example"] for r in rows)
        routed = ""
        if all("route_share" in r for r in rows):
            shares = [statistics.mean(r["route_share"][i] for r in rows) for i in range(len(rows[0]["route_share"]))]
            routed = " / ".join(f"{100 * x:.1f}%" for x in shares)
        name = {"dynamic": "gate (argmax)", "oracle": "oracle (test labels)"}.get(w, w)
        if "@" in w:
            name = f"gate, confidence {w.split('@')[1]}"
        md.append(f"| {name} | {mean_std([r['test_accuracy'] for r in rows])} | {macs / 1e6:.2f} M | "
                  f"{100 * macs / full:.1f}% | {routed} |")

    md += ["", "The gate against the static widths at the same MACs (accuracy points, per seed; > 0: above the "
           "static curve):", "", "| gate | " + " | ".join(f"seed {k}" for k in sorted(seeds)) + " | mean |",
           "|---|" + "---:|" * (len(seeds) + 1)]
    gate_names = ["dynamic"] + [w for w in by_width if "@" in w]
    above = {}
    for g in gate_names:
        diffs = []
        for k in sorted(seeds):
            s = seeds[k]
            static = sorted((r["macs_per_example"], r["test_accuracy"]) for r in s["rows"] if r["width"] in static_widths)
            row = next((r for r in s["rows"] + s["confidence"] if r["width"] == g), None)
            if row is None:
                continue
            diffs.append(100 * (row["test_accuracy"] - at_macs(static, row["macs_per_example"])))
        above[g] = diffs
        name = "argmax" if g == "dynamic" else f"confidence {g.split('@')[1]}"
        md.append(f"| {name} | " + " | ".join(f"{d:+.2f}" for d in diffs) + f" | {statistics.mean(diffs):+.2f} |")
    open(os.path.join(args.out, "results.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [100 * statistics.mean(r["macs_per_example"] for r in by_width[w]) / full for w in static_widths]
    ys = [100 * statistics.mean(r["test_accuracy"] for r in by_width[w]) for w in static_widths]
    es = [100 * statistics.stdev([r["test_accuracy"] for r in by_width[w]]) if len(by_width[w]) > 1 else 0
          for w in static_widths]
    ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label="static widths 0.25 … 1 (supernet)")
    for x, y, w in zip(xs, ys, static_widths):
        ax.annotate(w, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    gx = [100 * statistics.mean(r["macs_per_example"] for r in by_width[g]) / full for g in gate_names]
    gy = [100 * statistics.mean(r["test_accuracy"] for r in by_width[g]) for g in gate_names]
    ge = [100 * statistics.stdev([r["test_accuracy"] for r in by_width[g]]) if len(by_width[g]) > 1 else 0
          for g in gate_names]
    ax.errorbar(gx[:1], gy[:1], yerr=ge[:1], marker="*", ms=12, ls="none", capsize=3, label="dynamic gate (argmax)")
    if len(gx) > 1:
        order = sorted(range(1, len(gx)), key=lambda i: gx[i])
        ax.errorbar([gx[i] for i in order], [gy[i] for i in order], yerr=[ge[i] for i in order], marker="s", ms=5,
                    capsize=3, ls=":", label="gate by confidence")
    for k in sorted(seeds):  # each seed's static curve, faint
        s = seeds[k]
        static = sorted((r["macs_per_example"], r["test_accuracy"]) for r in s["rows"] if r["width"] in static_widths)
        ax.plot([100 * m / full for m, _ in static], [100 * a for _, a in static], color="grey", alpha=0.25, lw=1)
    ax.set_xlabel("MACs per example (% of full width)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Slimmable {args.family} on Fashion-MNIST: gate vs static widths (mean over seeds)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, f"slimmable-{args.family}.png"), dpi=80)


if __name__ == "__main__":
    main()
