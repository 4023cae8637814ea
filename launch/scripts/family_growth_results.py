#!/usr/bin/python3
"""Summarise launch/scripts/family_growth_results.sh runs: a markdown table and a plot.

Reads OUT/runs/<family>-<config>-seed<k>.json (the JSON summary line of `sprout train`) and
.jsonl (its metrics: "eval" lines with "test_accuracy", "growth" lines with the widths of
every width group after the event), and writes OUT/results.md and OUT/family-growth.png (MACs per example against step; final accuracy
against training FLOPs relative to the big model).

Training FLOPs are counted from the widths in force at every step, with the MACs per
example of growth/models/resnet.cpp and vit.cpp (the formulas of their layers(); checked
against `sprout`'s own count in the script's first run):
  one step = 6 · MACs · global batch (2 FLOPs per MAC, backward ≈ 2× forward),
plus per growth event GradMax's statistics batch (one forward+backward of --growth-batch
examples, gradmax runs only) and the growth-gradient measurement sprout logs (another).
Evaluation is not counted.
"""
import argparse
import collections
import os
import statistics

import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from growth_results import fmt_pm, load  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["small", "big", "gradmax", "random", "net2net", "vt", "net2net-stages", "gradmax-heads"]
LABEL = {
    "resnet": {"small": "small (inner 2-4-8)", "big": "big (inner 8-16-32) from scratch",
               "gradmax": "inner 2-4-8 → 8-16-32, GradMax", "random": "inner → big, random",
               "net2net": "inner → big, Net2Net", "vt": "inner → big, variance transfer",
               "net2net-stages": "stages 4-8-16 + inner → big, Net2Net"},
    "vit": {"small": "small (MLP 32)", "big": "big (MLP 128) from scratch", "gradmax": "MLP 32 → 128, GradMax",
            "random": "MLP 32 → 128, random", "net2net": "MLP 32 → 128, Net2Net",
            "gradmax-heads": "2 heads + MLP 32 → 4 heads + MLP 128, GradMax"},
}
# Width groups of the families' defaults as the script runs them (depth 10 / depth 2).
DEFAULT_GROUPS = {
    "resnet": {"stage1": 8, "stage2": 16, "stage3": 32},
    "vit": {"block1.heads": 4, "block2.heads": 4, "stream": 64},
}
IMAGE, CLASSES = 28, 10


def resnet_macs(w, depth=10):
    """MACs per example of growth/models/resnet.cpp's layers() for widths w (sites and groups);
    the stem is tied to stage 1 (model.stem = stage 1's width) in every run of the script."""
    n = (depth - 4) // 6
    stages = [w["stage1"], w["stage2"], w["stage3"]]
    stem = stages[0]
    total, side, cin = stem * 9 * IMAGE * IMAGE, IMAGE, stem
    for b in range(3 * n):
        s = b // n
        stride = 2 if (b % n == 0 and s > 0) else 1
        side = (side - 1) // stride + 1
        inner, out = w[f"block{b + 1}.conv1"], stages[s]
        total += cin * inner * 9 * side * side + inner * out * 9 * side * side
        if cin != out or stride != 1:
            total += cin * out * side * side
        cin = out
    return total + stages[2] * CLASSES


def vit_macs(w, depth=2, patch=7, head_dim=16):
    """MACs per example of growth/models/vit.cpp's layers()."""
    d, t = w["stream"], (IMAGE // patch) ** 2 + 1
    total = patch * patch * d * (t - 1)
    for b in range(1, depth + 1):
        a, units = w[f"block{b}.heads"] * head_dim, w[f"block{b}.fc1"]
        total += d * 3 * a * t + a * d * t + 2 * t * t * a + d * units * t + units * d * t
    return total + d * CLASSES


MACS = {"resnet": resnet_macs, "vit": vit_macs}




def width_timeline(family, run):
    """Widths of every site and group in force at each step 0..steps-1, and the growth events."""
    events = [l for l in run["lines"] if l.get("event") == "growth"]
    if events:
        widths = dict(events[-1]["widths"])
        for e in reversed(events):  # undo the growths to get the start
            widths[e["site"]] = e["old_width"]
    else:
        widths = dict(DEFAULT_GROUPS[family], **run["summary"]["widths"])
    timeline, i = [], 0
    for step in range(run["summary"]["step"]):
        while i < len(events) and events[i]["step"] <= step:
            widths = dict(events[i]["widths"])
            i += 1
        timeline.append(widths)
    return timeline, events


def flops_curve(family, run, name, batch, growth_batch):
    """Cumulative training FLOPs at the end of every step."""
    macs = MACS[family]
    timeline, events = width_timeline(family, run)
    extra = collections.Counter()
    for e in events:
        after = e["widths"]
        before = dict(after, **{e["site"]: e["old_width"]})
        if name.startswith("gradmax"):
            extra[e["step"]] += 6 * macs(before) * growth_batch  # M on the model before growth
        extra[e["step"]] += 6 * macs(after) * growth_batch  # the logged growth-gradient norm
    total, curve = 0, []
    for step, w in enumerate(timeline):
        total += 6 * macs(w) * batch + extra[step]
        curve.append(total)
    return curve, timeline




def describe(family, w):
    if family == "resnet":
        return ("stages " + "-".join(str(w[f"stage{s}"]) for s in (1, 2, 3)) + ", inner "
                + "-".join(str(w[k]) for k in sorted(w) if k.endswith(".conv1")))
    return (f"heads {w['block1.heads']}, MLP " + "-".join(str(w[k]) for k in sorted(w) if k.endswith(".fc1")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=128, help="global training batch")
    ap.add_argument("--growth-batch", type=int, default=128)
    args = ap.parse_args()
    runs = load(args.out, r"(resnet|vit)-(.*)-seed(\d+)\.json$")
    families = [f for f in ("resnet", "vit") if any(k[0] == f for k in runs)]
    md = []
    any_run = next(iter(runs.values()))[0]["summary"]
    seeds = sorted({r["seed"] for rs in runs.values() for r in rs})
    md += [f"Fashion-MNIST, {any_run['world_size']} ranks, {any_run['step']} steps (global batch {args.batch}) "
           f"for every run; seeds {', '.join(map(str, seeds))} (mean ± sample std over seeds). ResNet-10 at half width (stem 8, stages 8-16-32): SGD "
           "momentum 0.9, lr 0.05 cosine, weight decay 5e-4. ViT (7×7 patches, width 64, 2 blocks, head dimension "
           "16): AdamW lr 0.002, warm-up 5 %, cosine, weight decay 0.05. Growths at 10, 20, 30 and 40 % of the run."]
    refused = os.path.join(args.out, "runs", "vit-vt-refused.txt")
    curves = {}
    for family in families:
        names = [n for n in ORDER if (family, n) in runs]
        big = (family, "big")
        big_flops = flops_curve(family, runs[big][0], "big", args.batch, args.growth_batch)[0][-1] if big in runs else None
        md += ["", f"**{family}**", "",
               "| run | final widths | MACs / example at the end | test accuracy (%) | wall time (s) | training TFLOPs | FLOPs / big |",
               "|---|---|---:|---|---:|---:|---:|"]
        for n in names:
            rs = runs[(family, n)]
            curve, timeline = flops_curve(family, rs[0], n, args.batch, args.growth_batch)
            curves[(family, n)] = curve
            acc = [r["summary"]["test_accuracy"] for r in rs]
            wall = [r["summary"]["wall_s"] for r in rs]
            rel = f"{curve[-1] / big_flops:.2f}" if big_flops else "-"
            md.append(f"| {LABEL[family].get(n, n)} | {describe(family, timeline[-1])} | "
                      f"{MACS[family](timeline[-1]) / 1e6:.2f} M | {fmt_pm(acc, 2, 100)} | {fmt_pm(wall, 1)} | "
                      f"{curve[-1] / 1e12:.2f} | {rel} |")
        if family == "vit" and os.path.exists(refused):
            line = open(refused).read().strip()
            md.append(f"| MLP 32 → 128, variance transfer | refused before training: `{line}` | | | | | |")
        md += ["", "Per seed (test accuracy %): " + "; ".join(
            f"{n}: " + ", ".join(f"{100 * r['summary']['test_accuracy']:.2f}"
                                 for r in sorted(runs[(family, n)], key=lambda r: r["seed"])) for n in names) + "."]
        grown = [n for n in names if n not in ("small", "big")]
        secs = [l["seconds"] for n in grown for r in runs[(family, n)] for l in r["lines"] if l.get("event") == "growth"]
        if secs:
            md.append(f"Surgery time per growth event: mean {statistics.mean(secs) * 1000:.0f} ms, "
                      f"max {max(secs) * 1000:.0f} ms.")
    open(os.path.join(args.out, "results.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))

    # Left: the schedule (MACs per example in force at every step); right: the claim, final test
    # accuracy (mean ± std over seeds) against training FLOPs relative to the big model.
    fig, axes = plt.subplots(len(families), 2, figsize=(12, 4.2 * len(families)), squeeze=False)
    for row, family in enumerate(families):
        ax_macs, ax_acc = axes[row]
        names = [n for n in ORDER if (family, n) in runs]
        big_flops = curves[(family, "big")][-1] if (family, "big") in curves else curves[(family, names[0])][-1]
        for k, n in enumerate(names):
            color = f"C{k}"
            _, timeline = flops_curve(family, runs[(family, n)][0], n, args.batch, args.growth_batch)
            ax_macs.plot(range(len(timeline)), [MACS[family](w) / 1e6 for w in timeline], color=color,
                         ls="--" if n in ("small", "big") else "-", label=LABEL[family].get(n, n))
            acc = [100 * r["summary"]["test_accuracy"] for r in runs[(family, n)]]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            ax_acc.errorbar([curves[(family, n)][-1] / big_flops], [statistics.mean(acc)], yerr=[sd], color=color,
                            marker="s" if n in ("small", "big") else "o", ms=7, capsize=4, ls="none",
                            label=LABEL[family].get(n, n))
        ax_macs.set_xlabel("step")
        ax_macs.set_ylabel("MACs per example (M)")
        ax_macs.set_title(f"{family}: model size during training", fontsize=10)
        ax_macs.grid(alpha=0.3)
        ax_macs.legend(fontsize=7)
        ax_acc.set_xlabel("training FLOPs / big model's")
        ax_acc.set_ylabel("final test accuracy (%)")
        ax_acc.set_title(f"{family}: accuracy against compute (mean ± std over seeds)", fontsize=10)
        ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "family-growth.png"), dpi=80)


if __name__ == "__main__":
    main()
