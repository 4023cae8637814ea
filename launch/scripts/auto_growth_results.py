#!/usr/bin/python3
"""Summarise launch/scripts/auto_growth_results.sh runs: a markdown table and a plot.

Reads OUT/runs/<config>-seed<k>.json (the summary line of `sprout train`) and .jsonl (its
metrics: "growth" rows with the widths after each growth, "auto_growth" rows with each
automatic decision and its candidates, "eval" rows) and writes OUT/results.md and
OUT/auto_growth.png.

Training FLOPs are counted analytically from the widths in force at every step, as
growth_results.py does: MACs per example = 784·w1 + w1·w2 + w2·10, one step = 6 · MACs ·
global batch (2 FLOPs per MAC, backward ≈ 2× forward). Growth costs: per growth, GradMax's
statistics batch and the logged growth-gradient measurement (a forward+backward of
--growth-batch examples each); per automatic decision, one more forward+backward of the
growth batch for every candidate that was scored (its M). Evaluation is not counted.
"""
import argparse
import collections
import os
import statistics

import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from growth_results import fmt_pm, load, macs, width_timeline  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["auto", "auto-none", "hand-early", "hand-paper", "hand-late"]
LABEL = {"auto": "automatic, bound per parameter", "auto-none": "automatic, bound not normalised", "hand-early": "hand: +32 every 50 from 50",
         "hand-paper": "hand: +32 every 100 from 100", "hand-late": "hand: +32 every 150 from 300"}




def params(widths, inputs=784, classes=10):
    dims = [inputs] + [widths[k] for k in sorted(widths, key=lambda s: int(s[2:]))] + [classes]
    return sum(a * b + b for a, b in zip(dims, dims[1:]))






def flops(run, batch, growth_batch):
    timeline, events = width_timeline(run)
    total = sum(6 * macs(w) * batch for w in timeline)
    for e in events:
        after = e["widths"]
        before = dict(after, **{e["site"]: e["old_width"]})
        total += 6 * macs(before) * growth_batch  # GradMax's M on the model before growth
        total += 6 * macs(after) * growth_batch  # the logged growth-gradient norm
    for d in (l for l in run["lines"] if l.get("event") == "auto_growth"):
        scored = [c for c in d["candidates"] if not c["infeasible"]]
        total += len(scored) * 6 * macs(timeline[min(d["step"], len(timeline) - 1)]) * growth_batch
    return total




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=128, help="global training batch")
    ap.add_argument("--growth-batch", type=int, default=128)
    ap.add_argument("--command", default="launch/scripts/auto_growth_results.sh")
    args = ap.parse_args()
    runs = load(args.out)
    names = [n for n in ORDER if n in runs]
    seeds = sorted({r["seed"] for n in names for r in runs[n]})
    steps = runs[names[0]][0]["summary"]["step"]

    rows, acc_of, flops_of = [], {}, {}
    for n in names:
        rs = sorted(runs[n], key=lambda r: r["seed"])
        acc = [r["summary"]["test_accuracy"] for r in rs]
        fl = [flops(r, args.batch, args.growth_batch) for r in rs]
        acc_of[n], flops_of[n] = statistics.mean(acc), statistics.mean(fl)
        finals = sorted({"-".join(str(r["summary"]["widths"][k]) for k in sorted(r["summary"]["widths"])) for r in rs})
        ps = sorted({params(r["summary"]["widths"]) for r in rs})
        rows.append(f"| {LABEL.get(n, n)} | {', '.join(finals)} | {', '.join(f'{p:,}' for p in ps)} | "
                    f"{fmt_pm(acc, 2, 100)} | {fmt_pm([f / 1e12 for f in fl], 3)} |")
    md = [
        f"Fashion-MNIST, {runs[names[0]][0]['summary']['world_size']} ranks, {steps} steps "
        f"(global batch {args.batch}), MLP 784-64-64-10 grown by GradMax, SGD momentum 0.9, lr 0.05 cosine, "
        f"weight decay 1e-4; seeds {', '.join(map(str, seeds))} (mean ± sample std over seeds). "
        f"Command: `{args.command}`.",
        "",
        "| run | final widths | parameters | test accuracy (%) | training TFLOPs |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Per seed (test accuracy %): "
        + "; ".join(f"{n}: " + ", ".join(f"{100 * r['summary']['test_accuracy']:.2f}"
                                        for r in sorted(runs[n], key=lambda r: r["seed"])) for n in names),
    ]
    hands = [n for n in names if n.startswith("hand")]
    if "auto" in names and hands:
        best = max(hands, key=lambda n: acc_of[n])
        md += ["", f"Best hand-written schedule by mean accuracy: {LABEL[best]} ({100 * acc_of[best]:.2f} %, "
               f"{flops_of[best] / 1e12:.3f} TFLOPs). Automatic: {100 * acc_of['auto']:.2f} % "
               f"({100 * (acc_of['auto'] - acc_of[best]):+.2f} points) at {flops_of['auto'] / flops_of[best]:.2f}× its FLOPs."]
        if "auto-none" in names:
            md += [f"Not normalised: {100 * acc_of['auto-none']:.2f} % ({100 * (acc_of['auto-none'] - acc_of[best]):+.2f} "
                   f"points) at {flops_of['auto-none'] / flops_of[best]:.2f}× its FLOPs."]
    for n in (n for n in names if n.startswith("auto")):
        md += ["", f"Decisions of {LABEL[n]} (step: group +units), per seed:"]
        for r in sorted(runs[n], key=lambda r: r["seed"]):
            ds = [l for l in r["lines"] if l.get("event") == "auto_growth"]
            text = ", ".join(f"{d['step']}: {d['chosen']} +{d['add']}" if d["chosen"] else f"{d['step']}: budget reached"
                             for d in ds)
            md += [f"- seed {r['seed']}: {text or 'none'}"]
    open(os.path.join(args.out, "results.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))

    fig, (ax_acc, ax_w) = plt.subplots(1, 2, figsize=(11, 4))
    for n in names:
        curves = collections.defaultdict(list)
        for r in runs[n]:
            for l in r["lines"]:
                if l.get("event") == "eval":
                    curves[l["step"]].append(l["test_accuracy"])
            curves[r["summary"]["step"]].append(r["summary"]["test_accuracy"])
        xs = sorted(curves)
        ax_acc.plot(xs, [100 * statistics.mean(curves[x]) for x in xs], marker="o", ms=3, label=LABEL.get(n, n))
        timeline, _ = width_timeline(sorted(runs[n], key=lambda r: r["seed"])[0])
        ax_w.plot(range(len(timeline)), [params(w) for w in timeline], label=LABEL.get(n, n))
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_ylim(bottom=80)
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    ax_w.set_xlabel("step")
    ax_w.set_ylabel("parameters (first seed)")
    ax_w.grid(alpha=0.3)
    ax_w.legend(fontsize=8)
    fig.suptitle("Automatic vs hand-written growth: Fashion-MNIST MLP, mean over seeds")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "auto_growth.png"), dpi=80)


if __name__ == "__main__":
    main()
