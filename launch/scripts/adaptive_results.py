#!/usr/bin/python3
"""Summarise launch/scripts/adaptive_results.sh runs: a markdown table and a plot.

Reads OUT/runs/<name>-seed<k>.json (the JSON summary line of `sprout train`), .jsonl (its
metrics: step lines with "widths", "event": "adaptive" lines) and .curve.json (the summary
of `sprout eval --truncate all`), and writes OUT/results.md and OUT/adaptive-truncation.png
(left: width of every layer against step, from both starts; right: test accuracy of the
truncated networks against the fraction of the learned width kept, with the fixed-width
networks of the learned size as markers).
"""
import glob
import json
import os
import re
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    with open(path) as f:
        return json.load(f)


def widths_text(w):
    return "-".join(str(w[k]) for k in sorted(w, key=lambda s: (not s.startswith("conv"), int(re.sub(r"\D", "", s)))))


def mean_std(xs):
    if len(xs) == 1:
        return f"{xs[0]:.4f}"
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs):.4f}"


def main(out):
    runs = {}
    for path in sorted(glob.glob(f"{out}/runs/*-seed*.json")):
        if path.endswith(".curve.json"):
            continue
        name, seed = re.match(r".*/(.+)-seed(\d+)\.json$", path).groups()
        runs[(name, int(seed))] = load(path)
    seeds = sorted({s for (n, s) in runs if n == "mlp-64"})
    lines = ["| start | seed | learned widths | adaptive: test accuracy | fixed width of the learned size: test accuracy | width changes |",
             "|---|---|---|---|---|---|"]
    summary = {}
    for start, name, fixed in (("784-64-64-10", "mlp-64", "fixed-64"), ("784-256-256-10", "mlp-256", "fixed-256"),
                               ("cnn c16-c32 64", "cnn", "fixed-cnn")):
        for seed in sorted({s for (n, s) in runs if n == name}):
            a, f = runs[(name, seed)], runs.get((fixed, seed))
            events = sum(1 for l in open(f"{out}/runs/{name}-seed{seed}.jsonl") if '"event":"adaptive"' in l)
            lines.append(f"| {start} | {seed} | {widths_text(a['widths'])} | {a['test_accuracy']:.4f} | "
                         f"{f['test_accuracy']:.4f} | {events} |" if f else "| — |")
            summary.setdefault(name, []).append((a["test_accuracy"], f["test_accuracy"] if f else float("nan")))
    lines.append("")
    for name, rows in summary.items():
        if len(rows) > 1:
            lines.append(f"<!-- {name}: adaptive {mean_std([r[0] for r in rows])}, "
                         f"fixed {mean_std([r[1] for r in rows])} over {len(rows)} seeds -->")
    # The truncation curves (seed 0).
    lines += ["", "| kept fraction | " + " | ".join(f"{n} units / accuracy" for n in ("mlp-64", "mlp-256", "cnn")
                                                     if os.path.exists(f"{out}/runs/{n}-seed0.curve.json")) + " |"]
    curves = {n: load(f"{out}/runs/{n}-seed0.curve.json")["truncations"] for n in ("mlp-64", "mlp-256", "cnn")
              if os.path.exists(f"{out}/runs/{n}-seed0.curve.json")}
    lines.append("|---|" + "---|" * len(curves))
    labels = [r["truncate"] for r in next(iter(curves.values()))]
    for i, label in enumerate(labels):
        cells = [f"{widths_text(c[i]['active'])} / {c[i]['test_accuracy']:.4f}" for c in curves.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    with open(f"{out}/results.md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    colours = {"mlp-64": "tab:blue", "mlp-256": "tab:orange", "cnn": "tab:green"}
    for name in ("mlp-64", "mlp-256"):
        start = int(name.split("-")[1])
        steps, widths = [0], {"fc1": [start], "fc2": [start]}
        for l in open(f"{out}/runs/{name}-seed0.jsonl"):
            j = json.loads(l)
            if "widths" in j and "step" in j:
                steps.append(j["step"])
                for site, w in j["widths"].items():
                    widths.setdefault(site, []).append(w)
        for site, style in (("fc1", "-"), ("fc2", "--")):
            left.plot(steps, widths[site], style, color=colours[name], label=f"{name} {site}")
    left.set_xlabel("step")
    left.set_ylabel("width (units)")
    left.set_title("Learned widths, Fashion-MNIST, 2 ranks (seed 0)")
    left.legend()
    for name, c in curves.items():
        xs = [float(r["truncate"]) for r in c]
        right.plot(xs, [r["test_accuracy"] for r in c], "o-", color=colours[name],
                   label=f"{name} ({widths_text(c[-1]['active'])})")
        fixed = runs.get(({"mlp-64": "fixed-64", "mlp-256": "fixed-256", "cnn": "fixed-cnn"}[name], 0))
        if fixed:
            right.plot([1.0], [fixed["test_accuracy"]], "s", color=colours[name], markerfacecolor="none",
                       markersize=10, label=f"fixed width {widths_text(fixed['widths'])}")
    right.set_xlabel("fraction of the learned width kept (every layer)")
    right.set_ylabel("test accuracy")
    right.set_title("Post-training truncation")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(f"{out}/adaptive-truncation.png", dpi=110)


if __name__ == "__main__":
    main(sys.argv[1])
