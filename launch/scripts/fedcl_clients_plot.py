#!/usr/bin/python3
"""Tabulates and plots launch/scripts/fedcl_clients_results.sh's reports.

  /usr/bin/python3 launch/scripts/fedcl_clients_plot.py OUT_DIR [--png OUT.png] [--table OUT.md]

OUT_DIR holds <run>-<split>-s<seed>.json (run: fedavg | fedprox | experts; split: iid | dirichlet-1.0 |
dirichlet-0.1) and scale-<clients>.json. The table: per (split, method) the accuracy after round 1
(one federated round on task 0 alone: no forgetting yet), the final average accuracy, the forgetting, the bytes per round (uploaded / downloaded, all clients) and the
client accuracy spread, mean ± std over seeds; then the round time per number of clients.
The plot: average accuracy and forgetting after each round, one column per split.
"""
import argparse
import glob
import json
import os
import re
import statistics

SPLITS = ["iid", "dirichlet-1.0", "dirichlet-0.1"]
MODELS = [("fedavg", "average", "FedAvg"), ("fedprox", "average", "FedProx μ=0.1"), ("experts", "magmax", "MagMax"),
          ("experts", "task_arithmetic", "task arithmetic"), ("experts", "average", "average of all experts")]


def mean_std(v):
    v = [x for x in v if x == x]
    if not v:
        return float("nan"), float("nan")
    return statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0


def forgetting_per_round(report, model):
    """Forgetting after each round r >= 2: mean over tasks seen before r of best earlier − now."""
    out = [float("nan")]
    for r in range(1, len(report["rounds"])):
        now = report["rounds"][r]
        drops = []
        for j, task in enumerate(now["seen"]):
            best = [rd["accuracy"][model][rd["seen"].index(task)] for rd in report["rounds"][:r] if task in rd["seen"]]
            if best:
                drops.append(max(best) - now["accuracy"][model][j])
        out.append(statistics.mean(drops) if drops else float("nan"))
    return out


def load(out_dir):
    runs = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "*-s*.json"))):
        m = re.match(r"(fedavg|fedprox|experts)-(.+)-s(\d+)\.json$", os.path.basename(path))
        if m:
            runs.setdefault((m.group(1), m.group(2)), []).append(json.load(open(path)))
    return runs


def table(runs, out_dir):
    lines = ["| split | method | round 1: task 0 acc (%) | final avg acc (%) | forgetting (pp) | "
             "client acc p10–p90 (%) | up MB / round | down MB / round | seeds |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for split in SPLITS:
        for run, model, label in MODELS:
            reports = runs.get((run, split), [])
            if not reports:
                continue
            first = mean_std([r["rounds"][0]["average_accuracy"][model] for r in reports])
            acc = mean_std([r["summary"][model]["final_average_accuracy"] for r in reports])
            fgt = mean_std([r["summary"][model]["forgetting"] for r in reports])
            p10 = mean_std([r["rounds"][-1]["client_accuracy_quantiles"][model][1] for r in reports])
            p90 = mean_std([r["rounds"][-1]["client_accuracy_quantiles"][model][3] for r in reports])
            up = statistics.mean(rd["upload_bytes"][model] for r in reports for rd in r["rounds"]) / 1e6
            down = statistics.mean(rd["download_bytes"][model] for r in reports for rd in r["rounds"]) / 1e6
            lines.append(f"| {split} | {label} | {100 * first[0]:.1f} ± {100 * first[1]:.1f} | "
                         f"{100 * acc[0]:.1f} ± {100 * acc[1]:.1f} | "
                         f"{100 * fgt[0]:.1f} ± {100 * fgt[1]:.1f} | {100 * p10[0]:.0f}–{100 * p90[0]:.0f} | "
                         f"{up:.2f} | {down:.2f} | {len(reports)} |")
    scale = []
    for path in sorted(glob.glob(os.path.join(out_dir, "scale-*.json")), key=lambda p: int(re.findall(r"\d+", p)[-1])):
        r = json.load(open(path))
        c = r["config"]
        rd = r["rounds"][0]
        scale.append(f"| {c['clients']} | {c['world']} | {c['clients'] // c['nodes']} | {rd['wall_s']:.1f} | "
                     f"{rd['wall_s'] / c['clients']:.3f} |")
    if scale:
        lines += ["", "| clients (all trained) | ranks = node groups | clients per group | round wall s | s per client |",
                  "|---:|---:|---:|---:|---:|"] + scale
    return "\n".join(lines) + "\n"


def plot(runs, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(SPLITS), figsize=(4.2 * len(SPLITS), 6.5), sharey="row")
    for col, split in enumerate(SPLITS):
        for run, model, label in MODELS:
            reports = runs.get((run, split), [])
            if not reports:
                continue
            rounds = list(range(1, len(reports[0]["rounds"]) + 1))
            acc = [mean_std([r["rounds"][i]["average_accuracy"][model] for r in reports]) for i in range(len(rounds))]
            fgt = [mean_std([forgetting_per_round(r, model)[i] for r in reports]) for i in range(len(rounds))]
            axes[0][col].errorbar(rounds, [100 * a for a, _ in acc], yerr=[100 * s for _, s in acc], marker="o",
                                  capsize=3, label=label)
            axes[1][col].errorbar(rounds[1:], [100 * a for a, _ in fgt[1:]], yerr=[100 * s for _, s in fgt[1:]],
                                  marker="o", capsize=3, label=label)
        for row in axes:
            row[col].set_xticks(range(1, 6))
        axes[0][col].set_title(split.replace("dirichlet-", "Dirichlet α = "))
        axes[1][col].set_xlabel("round (= tasks seen)")
    axes[0][0].set_ylabel("global avg accuracy over seen tasks (%)")
    axes[1][0].set_ylabel("forgetting (pp)")
    axes[0][0].legend()
    fig.suptitle("Fashion-MNIST, 5 class-incremental tasks, 100 clients, 10 % sampled per round")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--png")
    ap.add_argument("--table")
    a = ap.parse_args()
    runs = load(a.out_dir)
    text = table(runs, a.out_dir)
    print(text, end="")
    if a.table:
        open(a.table, "w").write(text)
    if a.png:
        plot(runs, a.png)


if __name__ == "__main__":
    main()
