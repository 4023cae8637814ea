#!/usr/bin/python3
"""Plots and tabulates `sprout fedcl` reports (the <report>.json files).

  /usr/bin/python3 launch/scripts/fedcl_plot.py REPORT.json [REPORT.json ...] [--png OUT.png] [--table OUT.md]

Reports that differ only in their seed are one configuration: the plot shows the mean
average accuracy per round per model (error bars: std over seeds), one panel per
configuration (node groups, expert initialisation); the markdown table gives, per model
and configuration, the final average accuracy and the forgetting as mean ± std.
Needs matplotlib (python3-matplotlib); installs it with apt when it is missing.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import textwrap


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        cmd = ["apt-get", "install", "-y", "-q", "python3-matplotlib"]
        if os.geteuid() != 0:
            cmd = ["sudo"] + cmd
        print("fedcl_plot: installing python3-matplotlib", file=sys.stderr)
        subprocess.run(cmd, check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def config_key(report):
    c = report["config"]
    return (c["dataset"], c["nodes"], c["init"], bool(c.get("freeze_head", False)), c["steps"], c["warmup_steps"],
            c["architecture"])


def label(k):
    return f"{k[1]} groups, init={k[2]}" + (", frozen head" if k[3] else "") + (", no warm-up" if k[5] == 0 else "")


def mean_std(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return None, None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values):
    m, s = mean_std(values)
    if m is None:
        return "–"
    return f"{100 * m:.1f} ± {100 * s:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--png", help="plot file (default: the first report's name with .png)")
    ap.add_argument("--table", help="also write the markdown table here")
    args = ap.parse_args()

    groups = {}
    for path in args.reports:
        with open(path) as f:
            r = json.load(f)
        groups.setdefault(config_key(r), []).append(r)
    keys = sorted(groups, key=lambda k: (k[2], k[3], k[1]))

    # Markdown table: rows = models, columns = configurations.
    models = []
    for k in keys:
        for m in groups[k][0]["models"]:
            if m not in models:
                models.append(m)
    head = "| model |" + "".join(
        f" {label(k)}: final avg acc | forgetting | ‖θ−θ0‖ |" for k in keys)
    lines = [head, "|---|" + "---:|---:|---:|" * len(keys)]
    base_row = "| base θ0 |"
    expert_row = "| experts (own task) |"
    for k in keys:
        base_row += " " + fmt([statistics.mean(r["base_accuracy"]) for r in groups[k]]) + " | | |"
        expert_row += " " + fmt([statistics.mean(r["expert_accuracy"]) for r in groups[k]]) + " | | |"
    for m in models:
        row = f"| {m} |"
        for k in keys:
            rs = groups[k]
            row += " " + fmt([r["summary"][m]["final_average_accuracy"] for r in rs if m in r["summary"]])
            row += " | " + fmt([r["summary"][m]["forgetting"] for r in rs if m in r["summary"]])
            dist = [r["summary"][m].get("distance_from_base") for r in rs if m in r["summary"]]
            mu, sd = mean_std(dist)
            row += " | " + ("–" if mu is None else f"{mu:.2f} ± {sd:.2f}") + " |"
        lines.append(row)
    lines += [base_row, expert_row]
    seeds = sorted({r["config"]["seed"] for k in keys for r in groups[k]})
    caption = (f"Fashion-MNIST accuracy (%) on all tasks after the last round, mean ± std over seeds {seeds}"
               if keys and keys[0][0] == "fashion-mnist" else f"accuracy (%), mean ± std over seeds {seeds}")
    table = caption + "\n\n" + "\n".join(lines) + "\n"
    print(table)
    if args.table:
        with open(args.table, "w") as f:
            f.write(table)

    plt = import_pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 4.2), squeeze=False)
    for ax, k in zip(axes[0], keys):
        rs = groups[k]
        for m in models:
            rounds = [rd["round"] for rd in rs[0]["rounds"]]
            series = [[rd["average_accuracy"].get(m) for rd in r["rounds"]] for r in rs]
            means, stds = [], []
            for i in range(len(rounds)):
                mu, sd = mean_std([s[i] for s in series])
                means.append(100 * mu if mu is not None else float("nan"))
                stds.append(100 * sd if sd is not None else 0.0)
            style = "--" if m in ("sequential", "joint") else "-"
            ax.errorbar(rounds, means, yerr=stds, marker="o", linestyle=style, capsize=3, label=m)
        ax.set_title(f"{label(k)} ({len(rs)} seeds)", fontsize=10)
        ax.set_xlabel("round")
        ax.set_xticks([rd["round"] for rd in rs[0]["rounds"]])
        ax.set_ylabel("average accuracy on tasks seen (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower left")
    title = f"sprout fedcl: {keys[0][0]}, {len(rs[0]['tasks'])} class-incremental tasks, {keys[0][6]}"
    fig.suptitle(textwrap.fill(title, int(11 * 5.2 * len(keys))), fontsize=11)  # one panel is narrow
    fig.tight_layout()
    png = args.png or os.path.splitext(args.reports[0])[0] + ".png"
    fig.savefig(png, dpi=110)
    print(f"wrote {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
