#!/usr/bin/python3
"""Summarise launch/scripts/growth_results.sh runs: a markdown table and a plot.

Reads OUT/runs/<config>-seed<k>.json (the JSON summary line of `sprout train`) and
<config>-seed<k>.jsonl (its metrics: step lines with "widths", eval lines with
"test_accuracy", growth lines with "event": "growth"), and writes OUT/results.md and
OUT/growth.png.

Training FLOPs are counted analytically from the widths in force at every step:
  MACs per example = sum over the weight matrices of in x out (784·w1 + w1·w2 + w2·10),
  one step = 6 · MACs · global batch (2 FLOPs per MAC, backward ≈ 2× forward).
Growth costs are added per event: GradMax's statistics batch (one forward+backward of
--growth-batch examples) and, for every strategy, the growth-gradient measurement sprout
logs (another forward+backward). Evaluation is not counted.
"""
import argparse
import collections
import glob
import json
import math
import os
import re
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["small", "big", "gradmax", "random", "net2net", "vt"]
LABEL = {"small": "small (64-64)", "big": "big (256-256) from scratch", "gradmax": "64→256 GradMax",
         "random": "64→256 random", "net2net": "64→256 Net2Net", "vt": "64→256 variance transfer"}


def macs(widths, inputs=784, classes=10):
    dims = [inputs] + [widths[k] for k in sorted(widths, key=lambda s: int(s[2:]))] + [classes]
    return sum(a * b for a, b in zip(dims, dims[1:]))


def load(out, pattern=r"(.*)-seed(\d+)\.json$"):
    """OUT/runs/<name>-seed<s>.json (summary) and .jsonl (metrics) -> {name: [runs]}; with a
    pattern of more groups before the seed, the key is their tuple (the other result scripts)."""
    runs = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(out, "runs", "*-seed*.json"))):
        *key, seed = re.match(pattern, os.path.basename(path)).groups()
        summary = json.load(open(path))
        lines = [json.loads(l) for l in open(path[:-5] + ".jsonl")]
        runs[key[0] if len(key) == 1 else tuple(key)].append({"seed": int(seed), "summary": summary, "lines": lines})
    return runs


def width_timeline(run):
    """Widths in force at each step 0..steps-1."""
    events = [l for l in run["lines"] if l.get("event") == "growth"]
    widths = dict(run["summary"]["widths"])
    for e in reversed(events):  # undo the growths to get the start
        widths[e["site"]] = e["old_width"]
    timeline, i = [], 0
    for step in range(run["summary"]["step"]):
        while i < len(events) and events[i]["step"] <= step:
            widths[events[i]["site"]] = events[i]["new_width"]
            i += 1
        timeline.append(dict(widths))
    return timeline, events


def flops(run, name, batch, growth_batch):
    timeline, events = width_timeline(run)
    total = sum(6 * macs(w) * batch for w in timeline)
    for e in events:
        after = e["widths"]
        before = dict(after, **{e["site"]: e["old_width"]})
        if name == "gradmax":
            total += 6 * macs(before) * growth_batch  # M on the model before growth
        total += 6 * macs(after) * growth_batch  # the logged growth-gradient norm
    return total


def fmt_pm(values, digits, scale=1.0):
    m = statistics.mean(values) * scale
    s = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=128, help="global training batch")
    ap.add_argument("--growth-batch", type=int, default=128)
    args = ap.parse_args()
    runs = load(args.out)
    names = [n for n in ORDER if n in runs]
    big_flops = flops(runs["big"][0], "big", args.batch, args.growth_batch) if "big" in runs else None

    rows = []
    for n in names:
        rs = runs[n]
        acc = [r["summary"]["test_accuracy"] for r in rs]
        wall = [r["summary"]["wall_s"] for r in rs]
        f = flops(rs[0], n, args.batch, args.growth_batch)
        final = rs[0]["summary"]["widths"]
        rel = f"{f / big_flops:.2f}" if big_flops else "-"
        rows.append(f"| {LABEL.get(n, n)} | {'-'.join(str(final[k]) for k in sorted(final))} | {fmt_pm(acc, 2, 100)} | "
                    f"{fmt_pm(wall, 1)} | {f / 1e12:.2f} | {rel} |")
    seeds = sorted({r["seed"] for n in names for r in runs[n]})
    steps = runs[names[0]][0]["summary"]["step"]
    md = [
        f"Fashion-MNIST, {runs[names[0]][0]['summary']['world_size']} ranks, {steps} steps "
        f"(global batch {args.batch}), SGD momentum 0.9, lr 0.05 cosine, weight decay 1e-4; "
        f"seeds {', '.join(map(str, seeds))} (mean ± sample std over seeds).",
        "",
        "| run | final widths | test accuracy (%) | wall time (s) | training TFLOPs | FLOPs / big |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Per seed (test accuracy %): "
        + "; ".join(f"{n}: " + ", ".join(f"{100 * r['summary']['test_accuracy']:.2f}" for r in sorted(runs[n], key=lambda r: r["seed"]))
                    for n in names),
    ]
    growth_names = [n for n in names if n not in ("small", "big")]
    if growth_names:
        norms = collections.defaultdict(list)
        for n in growth_names:
            for r in runs[n]:
                norms[n] += [l["grad_norm"] for l in r["lines"] if l.get("event") == "growth"]
        md += ["", "Mean growth-gradient norm ‖∂L/∂W_new‖_F right after each growth (all events, all seeds): "
               + "; ".join(f"{n} {statistics.mean(norms[n]):.3g}" for n in growth_names if norms[n]) + "."]
        secs = [l["seconds"] for n in growth_names for r in runs[n] for l in r["lines"] if l.get("event") == "growth"]
        md += [f"Surgery time per event: mean {statistics.mean(secs) * 1000:.0f} ms, max {max(secs) * 1000:.0f} ms."]
    open(os.path.join(args.out, "results.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))

    fig, (ax_acc, ax_w) = plt.subplots(1, 2, figsize=(11, 4))
    for n in names:
        curves = collections.defaultdict(list)
        for r in runs[n]:
            for l in r["lines"]:
                if "test_accuracy" in l and l.get("event") != "growth":
                    curves[l["step"]].append(l["test_accuracy"])
            curves[r["summary"]["step"]].append(r["summary"]["test_accuracy"])
        xs = sorted(curves)
        ax_acc.plot(xs, [100 * statistics.mean(curves[x]) for x in xs], marker="o", ms=3, label=LABEL.get(n, n))
        timeline, _ = width_timeline(runs[n][0])
        if n in ("small", "big", "gradmax"):
            lab = "grown (every strategy)" if n == "gradmax" else LABEL[n]
            ax_w.plot(range(len(timeline)), [w["fc1"] for w in timeline], label=lab)
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_ylim(bottom=80)
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    ax_w.set_xlabel("step")
    ax_w.set_ylabel("hidden width (fc1 = fc2)")
    ax_w.grid(alpha=0.3)
    ax_w.legend(fontsize=8)
    fig.suptitle("Growing while training: Fashion-MNIST MLP, mean over seeds")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "growth.png"), dpi=80)


if __name__ == "__main__":
    main()
