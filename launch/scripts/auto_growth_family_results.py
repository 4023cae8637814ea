#!/usr/bin/env python3
"""Table and plot of launch/scripts/auto_growth_family_results.sh.

Reads OUT/runs/<family>-<run>-seed<s>.json (the summary line of `sprout train`, with
train_flops) and .jsonl (its metrics: "auto_growth" rows with every automatic decision),
OUT/runs/<family>-max_params.txt (the budget), and writes OUT/results.md and
OUT/auto-growth-family.png (final accuracy against training FLOPs)."""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from growth_results import fmt_pm, load  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--steps", type=int, required=True)
ap.add_argument("--np", type=int, required=True)
args = ap.parse_args()

RUNS = ["hand_depth", "hand_width", "hand_both", "auto", "auto_eager", "auto_width"]
LABEL = {"hand_depth": "hand: depth", "hand_width": "hand: width", "hand_both": "hand: width, then depth",
         "auto": "automatic: width and depth", "auto_eager": "automatic: width and depth, 10 % plateau",
         "auto_width": "automatic: width only"}
runs = load(args.out, r"(resnet|vit)-(\w+?)-seed(\d+)\.json$")


def decisions(run):
    return [l for l in run["lines"] if l.get("event") == "auto_growth" and l.get("chosen")]


def final_params(run, budget):
    d = decisions(run)
    return d[-1]["params_after"] if d else budget


def mean(values):
    return statistics.mean(values)


lines = [f"Fashion-MNIST, {args.np} ranks, {args.steps} steps (global batch {64 * args.np}); new units and blocks "
         "initialised at random, the automatic runs choosing by GradMax's bound per parameter; mean ± sample std "
         "over seeds. FLOPs: `train_flops` of the run's summary; parameters as `growth.max_params` counts them.", ""]
points, readings, details = {}, [], []
for family in ("resnet", "vit"):
    hand = [n for n in RUNS if n.startswith("hand") and (family, n) in runs]
    if not hand:
        continue
    budget = int(open(os.path.join(args.out, "runs", f"{family}-max_params.txt")).read())
    # The best hand-written schedule: the highest mean accuracy.
    best = max(hand, key=lambda n: mean([r["summary"]["test_accuracy"] for r in runs[(family, n)]]))
    ref = mean([r["summary"]["train_flops"] for r in runs[(family, best)]])
    lines += [f"**{family}** (budget: {budget:,} parameters, the final size's; best hand schedule: {LABEL[best]})", "",
              "| run | final model | parameters | test accuracy (%) | training TFLOPs | FLOPs / best hand | growths (width + depth) | seeds |",
              "|---|---|---|---|---|---|---|---|"]
    stats = {}
    for name in RUNS:
        rs = runs.get((family, name))
        if not rs:
            continue
        flops = [r["summary"]["train_flops"] for r in rs]
        acc = [r["summary"]["test_accuracy"] for r in rs]
        params = [final_params(r, budget) for r in rs]
        if name.startswith("auto"):
            w = [sum(d["chosen_kind"] != "depth" for d in decisions(r)) for r in rs]
            dp = [sum(d["chosen_kind"] == "depth" for d in decisions(r)) for r in rs]
            growths = f"{mean(w):.1f} + {mean(dp):.1f}"
            for r in sorted(rs, key=lambda r: r["seed"]):
                steps = ", ".join(f"{d['step']}:{d['chosen']}+{d['add']}{'block' if d['chosen_kind'] == 'depth' else ''}"
                                  for d in decisions(r))
                details.append(f"| {family} | {LABEL[name]} | {r['seed']} | {r['summary']['test_accuracy'] * 100:.2f} | "
                               f"{steps or '(none)'} |")
        else:
            growths = "—"
        stats[name] = (mean(acc), statistics.stdev(acc) if len(acc) > 1 else 0.0, mean(flops))
        models = sorted({r["summary"]["model"] for r in rs})
        lines.append(f"| {LABEL[name]} | {models[0] if len(models) == 1 else 'differs by seed'} | {mean(params):,.0f} | "
                     f"{fmt_pm(acc, 2, 100)} | {mean(flops) / 1e12:.3f} | {mean(flops) / ref:.2f} | {growths} | {len(rs)} |")
        points.setdefault(family, []).append((name, mean(flops) / 1e12, mean(acc) * 100, stats[name][1] * 100))
    lines.append("")
    for auto in ("auto", "auto_eager", "auto_width"):
        if auto in stats:
            a, h = stats[auto], stats[best]
            readings.append(f"- {family}, {LABEL[auto]}: {a[0] * 100:.2f} ± {a[1] * 100:.2f} % at {a[2] / 1e12:.3f} "
                            f"TFLOPs; best hand schedule ({LABEL[best]}) {h[0] * 100:.2f} ± {h[1] * 100:.2f} % at "
                            f"{h[2] / 1e12:.3f} TFLOPs: accuracy {(a[0] - h[0]) * 100:+.2f} points, FLOPs × "
                            f"{a[2] / h[2]:.2f}.")
lines += ["Automatic against the best hand-written schedule (highest mean accuracy):", ""] + readings + [""]
lines += ["Every automatic decision (step:place+units, or +block):", "",
          "| family | run | seed | test accuracy (%) | decisions |", "|---|---|---|---|---|"] + details
open(os.path.join(args.out, "results.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, max(1, len(points)), figsize=(5.5 * max(1, len(points)), 4), squeeze=False)
for ax, (family, pts) in zip(axes[0], points.items()):
    for name, x, y, sd in pts:
        ax.errorbar([x], [y], yerr=[sd], fmt="s" if name.startswith("auto") else "o", capsize=3, label=LABEL[name])
    ax.set_title(f"{family}: automatic and hand-written growth")
    ax.set_xlabel("training TFLOPs")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "auto-growth-family.png"), dpi=110)
