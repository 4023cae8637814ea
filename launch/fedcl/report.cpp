#include "launch/fedcl/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "growth/models/arch.h"
#include "runtime/error.h"

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

std::vector<double> quantiles(std::vector<double> v) {
  std::vector<double> out;
  std::sort(v.begin(), v.end());
  for (double q : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    if (v.empty()) {
      out.push_back(kNaN);
      continue;
    }
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
    out.push_back(v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo)));
  }
  return out;
}

std::string markdown_table(const FedclReport& r) {
  std::ostringstream out;
  out << "Federated continual learning: " << r.dataset << ", " << r.task_classes.size() << " tasks on " << r.nodes
      << " node groups (" << r.world << " ranks), " << r.rounds.size() << " rounds, init=" << r.init
      << (r.freeze_head ? ", frozen head" : "") << ", "
      << r.steps << " steps per expert, seed " << r.seed << ", " << r.architecture << "\n"
      << r.clients << " clients (" << r.sample << " sampled per round), split=" << r.split
      << (r.split == "dirichlet" ? concat(" alpha=", r.alpha) : std::string()) << ", merged over " << r.merge_over
      << (r.prox_mu > 0 ? concat(", FedProx mu=", r.prox_mu) : std::string()) << "\n";
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
  out << "\nPer round (merge methods): clients trained, MB uploaded / downloaded by them, wall time, and "
         "accuracy (%) over clients (min / median / max):\n\n| model | round | clients | up MB | down MB | "
         "wall s | client acc min | median | max |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& round : r.rounds) {
    int64_t trained = 0;
    for (auto n : round.examples) trained += n > 0;
    for (const auto& [m, up] : round.upload_bytes) {
      const auto q = quantiles(round.client_accuracy.count(m) ? round.client_accuracy.at(m) : std::vector<double>{});
      char line[256];
      std::snprintf(line, sizeof line, "| %s | %d | %lld | %.2f | %.2f | %.2f | %s | %s | %s |\n", m.c_str(),
                    round.round, static_cast<long long>(trained), up / 1e6, round.download_bytes.at(m) / 1e6,
                    round.wall_s, percent(q[0]).c_str(), percent(q[2]).c_str(), percent(q[4]).c_str());
      out << line;
    }
  }
  return out.str();
}

std::string rounds_csv(const FedclReport& r) {
  std::ostringstream out;
  out << "model,round,clients_sampled,clients_trained,examples,upload_bytes,download_bytes,wall_s,average_accuracy,"
         "client_acc_min,client_acc_p10,client_acc_median,client_acc_p90,client_acc_max\n";
  auto number = [](double v) { return std::isfinite(v) ? runtime::json_number(v) : std::string(""); };
  for (const auto& round : r.rounds) {
    int64_t trained = 0, examples = 0;
    for (auto n : round.examples) {
      trained += n > 0;
      examples += n;
    }
    for (const auto& [m, up] : round.upload_bytes) {
      out << m << "," << round.round << "," << round.sampled.size() << "," << trained << "," << examples << "," << up
          << "," << round.download_bytes.at(m) << "," << number(round.wall_s) << ","
          << number(average_accuracy(round, m));
      for (double q : quantiles(round.client_accuracy.count(m) ? round.client_accuracy.at(m) : std::vector<double>{})) {
        out << "," << number(q);
      }
      out << "\n";
    }
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
      .add("architecture", r.architecture).add("clients", r.clients).add("sample", r.sample).add("split", r.split)
      .add("alpha", r.alpha).add("merge_over", r.merge_over).add("prox_mu", r.prox_mu)
      .add("model_bytes", r.model_bytes);
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
    runtime::JsonObject clients_acc, quant, up, down;
    for (const auto& [m, a] : round.client_accuracy) {
      clients_acc.add(m, a);
      quant.add(m, quantiles(a));
    }
    for (const auto& [m, b] : round.upload_bytes) up.add(m, b);
    for (const auto& [m, b] : round.download_bytes) down.add(m, b);
    std::vector<int64_t> sampled(round.sampled.begin(), round.sampled.end());
    o.add("sampled", sampled).add("examples", round.examples)
        .add("split_hash", concat(std::hex, round.split_hash))
        .add("client_accuracy", clients_acc).add("client_accuracy_quantiles", quant)
        .add("upload_bytes", up).add("download_bytes", down).add("wall_s", round.wall_s);
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
