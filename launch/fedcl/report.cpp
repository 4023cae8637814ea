#include "launch/fedcl/report.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "growth/models/arch.h"

namespace sprout::launch {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string percent(double v) {
  if (!std::isfinite(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100.0 * v);
  return buf;
}

std::string task_label(const FedclReport& r, int t) {
  return growth::join_ints(r.task_classes.at(t), " ");
}

}  // namespace

double average_accuracy(const FedclRound& round, const std::string& model) {
  auto it = round.accuracy.find(model);
  if (it == round.accuracy.end() || it->second.empty()) return kNaN;
  double sum = 0;
  for (double a : it->second) sum += a;
  return sum / static_cast<double>(it->second.size());
}

double forgetting(const FedclReport& report, const std::string& model) {
  if (report.rounds.size() < 2) return kNaN;
  const auto& last = report.rounds.back();
  auto now = last.accuracy.find(model);
  if (now == last.accuracy.end()) return kNaN;
  double sum = 0;
  int count = 0;
  for (size_t j = 0; j < last.seen.size(); ++j) {
    const int task = last.seen[j];
    double best = -1;
    for (size_t r = 0; r + 1 < report.rounds.size(); ++r) {
      const auto& round = report.rounds[r];
      auto it = round.accuracy.find(model);
      if (it == round.accuracy.end()) continue;
      for (size_t k = 0; k < round.seen.size(); ++k) {
        if (round.seen[k] == task) best = std::max(best, it->second[k]);
      }
    }
    if (best < 0) continue;  // first seen in the last round
    sum += best - now->second[j];
    ++count;
  }
  return count ? sum / count : kNaN;
}

std::string markdown_table(const FedclReport& r) {
  std::ostringstream out;
  out << "Federated continual learning: " << r.dataset << ", " << r.task_classes.size() << " tasks on " << r.nodes
      << " node groups (" << r.world << " ranks), " << r.rounds.size() << " rounds, init=" << r.init
      << (r.freeze_head ? ", frozen head" : "") << ", "
      << r.steps << " steps per expert, seed " << r.seed << ", " << r.architecture << "\n";
  double base_avg = 0;
  for (double a : r.base_accuracy) base_avg += a / static_cast<double>(r.base_accuracy.size());
  if (r.base_checkpoint.empty()) {
    out << "base θ0 (" << r.warmup_steps << " warm-up steps on classes " << r.warmup_classes << ")";
  } else {
    out << "base θ0 (checkpoint " << r.base_checkpoint << ")";
  }
  out << ": average accuracy " << percent(base_avg) << "%";
  if (!r.expert_accuracy.empty()) {
    double e = 0;
    for (double a : r.expert_accuracy) e += a / static_cast<double>(r.expert_accuracy.size());
    out << "; experts on their own task: " << percent(e) << "%";
  }
  out << "\n\nAverage accuracy (%) over the tasks seen so far, after each round:\n\n| model | λ |";
  for (const auto& round : r.rounds) {
    out << " round " << round.round << " (tasks " << round.seen.front() << "–" << round.seen.back() << ") |";
  }
  out << " forgetting | ‖θ−θ0‖ |\n|---|---|";
  for (size_t i = 0; i < r.rounds.size(); ++i) out << "---:|";
  out << "---:|---:|\n";
  for (const auto& m : r.models) {
    auto l = r.lambda.find(m);
    out << "| " << m << " | " << (l == r.lambda.end() ? "–" : l->second) << " |";
    for (const auto& round : r.rounds) out << " " << percent(average_accuracy(round, m)) << " |";
    auto d = r.rounds.back().distance.find(m);
    char dist[32] = "–";
    if (d != r.rounds.back().distance.end()) std::snprintf(dist, sizeof dist, "%.2f", d->second);
    out << " " << percent(forgetting(r, m)) << " | " << dist << " |\n";
  }
  const auto& last = r.rounds.back();
  out << "\nAccuracy (%) on each task after the last round:\n\n| model |";
  for (int t : last.seen) out << " task " << t << " (" << task_label(r, t) << ") |";
  out << "\n|---|";
  for (size_t i = 0; i < last.seen.size(); ++i) out << "---:|";
  out << "\n";
  for (const auto& m : r.models) {
    auto it = last.accuracy.find(m);
    if (it == last.accuracy.end()) continue;
    out << "| " << m << " |";
    for (double a : it->second) out << " " << percent(a) << " |";
    out << "\n";
  }
  return out.str();
}

std::string to_csv(const FedclReport& r) {
  std::ostringstream out;
  out << "model,round,task,classes,accuracy\n";
  auto number = [](double v) { return std::isfinite(v) ? runtime::json_number(v) : std::string(""); };
  for (const auto& round : r.rounds) {
    for (const auto& m : r.models) {
      auto it = round.accuracy.find(m);
      if (it == round.accuracy.end()) continue;
      for (size_t k = 0; k < round.seen.size(); ++k) {
        out << m << "," << round.round << "," << round.seen[k] << "," << task_label(r, round.seen[k]) << ","
            << number(it->second[k]) << "\n";
      }
      out << m << "," << round.round << ",avg,," << number(average_accuracy(round, m)) << "\n";
    }
  }
  return out.str();
}

runtime::JsonObject to_json(const FedclReport& r) {
  runtime::JsonObject config;
  config.add("dataset", r.dataset).add("nodes", r.nodes).add("world", r.world).add("init", r.init)
      .add("freeze_head", r.freeze_head)
      .add("seed", static_cast<int64_t>(r.seed)).add("steps", r.steps).add("warmup_steps", r.warmup_steps)
      .add("warmup_classes", r.warmup_classes).add("base_checkpoint", r.base_checkpoint)
      .add("architecture", r.architecture);
  runtime::JsonObject tasks, lambda;
  for (size_t t = 0; t < r.task_classes.size(); ++t) tasks.add(std::to_string(t), r.task_classes[t]);
  for (const auto& [m, l] : r.lambda) lambda.add(m, l);
  std::vector<runtime::JsonObject> rounds;
  for (const auto& round : r.rounds) {
    runtime::JsonObject o, acc, avg, dist;
    std::vector<int64_t> seen(round.seen.begin(), round.seen.end()), fresh(round.new_tasks.begin(), round.new_tasks.end());
    o.add("round", round.round).add("new_tasks", fresh).add("seen", seen);
    for (const auto& [m, a] : round.accuracy) {
      acc.add(m, a);
      avg.add(m, average_accuracy(round, m));
    }
    for (const auto& [m, d] : round.distance) dist.add(m, d);
    o.add("accuracy", acc).add("average_accuracy", avg).add("distance_from_base", dist);
    rounds.push_back(o);
  }
  runtime::JsonObject summary;
  for (const auto& m : r.models) {
    runtime::JsonObject s;
    s.add("final_average_accuracy", average_accuracy(r.rounds.back(), m)).add("forgetting", forgetting(r, m));
    auto d = r.rounds.back().distance.find(m);
    if (d != r.rounds.back().distance.end()) s.add("distance_from_base", d->second);
    summary.add(m, s);
  }
  runtime::JsonObject out;
  out.add("config", config).add("tasks", tasks).add("models", r.models).add("lambda", lambda)
      .add("base_accuracy", r.base_accuracy).add("expert_accuracy", r.expert_accuracy).add("rounds", rounds)
      .add("summary", summary).add("wall_s", r.wall_s);
  return out;
}

}  // namespace sprout::launch
