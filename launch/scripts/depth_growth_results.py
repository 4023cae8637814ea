#!/usr/bin/env python3
"""Table and plot of launch/scripts/depth_growth_results.sh: OUT/runs/<family>-<run>-seed<s>.json
(the summary line of `sprout train`, with train_flops) -> OUT/results.md, OUT/depth-growth.png."""
import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from growth_results import fmt_pm  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--steps", type=int, required=True)
ap.add_argument("--np", type=int, required=True)
args = ap.parse_args()

RUNS = ["shallow", "big", "deeper", "deeper_random", "wider", "both"]
LABEL = {"shallow": "shallow / narrow, no growth", "big": "big from scratch", "deeper": "grown in depth (GradMax)", "deeper_random": "grown in depth (random)",
         "wider": "grown in width", "both": "grown in width, then depth"}
runs = {}
for path in sorted(glob.glob(os.path.join(args.out, "runs", "*-seed*.json"))):
    m = re.match(r"(resnet|vit)-(\w+?)-seed(\d+)\.json", os.path.basename(path))
    if m:
        runs.setdefault((m.group(1), m.group(2)), []).append(json.load(open(path)))




lines = [f"Fashion-MNIST, {args.np} ranks, {args.steps} steps (global batch {64 * args.np}), growth by GradMax; "
         "mean ± sample std over seeds. FLOPs: `train_flops` of the run's summary.", ""]
points = {}
for family in ("resnet", "vit"):
    if (family, "big") not in runs:
        continue
    big = statistics.mean(r["train_flops"] for r in runs[(family, "big")])
    lines += [f"**{family}**", "", "| run | final model | test accuracy (%) | training TFLOPs | FLOPs / big | seeds |",
              "|---|---|---|---|---|---|"]
    for name in RUNS:
        rs = runs.get((family, name))
        if not rs:
            continue
        flops = statistics.mean(r["train_flops"] for r in rs)
        acc = [r["test_accuracy"] for r in rs]
        lines.append(f"| {LABEL[name]} | {rs[0]['model']} | {fmt_pm(acc, 2, 100)} | {flops / 1e12:.3f} | "
                     f"{flops / big:.2f} | {len(rs)} |")
        points.setdefault(family, []).append((name, flops / big, statistics.mean(acc) * 100,
                                              statistics.stdev(acc) * 100 if len(acc) > 1 else 0))
    lines.append("")
open(os.path.join(args.out, "results.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, len(points), figsize=(5.5 * len(points), 4), squeeze=False)
for ax, (family, pts) in zip(axes[0], points.items()):
    for name, x, y, sd in pts:
        ax.errorbar([x], [y], yerr=[sd], fmt="o", capsize=3, label=LABEL[name])
    ax.set_title(f"{family}: accuracy against training compute")
    ax.set_xlabel("training FLOPs / big model's")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "depth-growth.png"), dpi=110)
