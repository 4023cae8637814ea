#include "launch/fedcl/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "launch/cli/rank_agreement.h"
#include "launch/checkpoint/run_state.h"
#include "launch/fedcl/client_training.h"
#include "launch/fedcl/clients.h"
#include "launch/fedcl/files.h"
#include "launch/train/init_from.h"
#include "launch/train/trainer.h"
#include "merge/collective.h"
#include "merge/weighted.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

using merge::TensorBundle;

TrainConfig run_config(const FedclConfig& c, const std::vector<int64_t>& classes, int64_t steps, uint64_t seed) {
  TrainConfig t = c.train;
  t.data.classes = classes;
  t.train.steps = steps;
  t.train.seed = seed;
  t.train.eval_every = 0;
  t.log.metrics.clear();
  t.log.progress = "none";
  return t;
}

std::vector<int64_t> classes_of(const FedclPlan& plan, const std::vector<int>& tasks) {
  std::vector<int64_t> out;
  for (int t : tasks) out.insert(out.end(), plan.task_classes[t].begin(), plan.task_classes[t].end());
  return out;
}

// Accuracy of `model` on each class of `classes` (class_tests[k]: the test examples of class
// k), the examples sharded over `comm`. Collective: one Sum.
std::vector<double> evaluate_classes(growth::Model& model, const std::vector<data::Dataset>& class_tests,
                                     const std::vector<int64_t>& classes, const data::DataSplits& norm,
                                     runtime::Communicator& comm, int64_t batch) {
  torch::NoGradGuard no_grad;
  const auto k = static_cast<int64_t>(classes.size());
  auto counts = torch::zeros({2 * k}, torch::kFloat64);  // [correct..., examples...]
  for (int64_t i = 0; i < k; ++i) {
    const auto& test = class_tests.at(classes[i]);
    const int64_t n = test.size();
    const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
    double correct = 0;
    for (int64_t b = lo; b < hi; b += batch) {
      const int64_t m = std::min(batch, hi - b);
      auto x = data::to_input(test.range(b, m), norm.norm);  // (m, C, H, W)
      auto y = test.labels.narrow(0, b, m);                                           // (m)
      correct += model.forward(x, false).argmax(1).eq(y).sum().item<double>();
    }
    counts[i] = correct;
    counts[k + i] = static_cast<double>(hi - lo);
  }
  comm.allreduce(counts, runtime::ReduceOp::Sum);
  std::vector<double> out;
  for (int64_t i = 0; i < 2 * k; ++i) out.push_back(counts[i].item<double>());
  return out;  // correct per class, then examples per class
}

// ‖θ − θ_0‖₂ over the parameters (the task vector the model applies).
double distance(const TensorBundle& theta, const TensorBundle& base) {
  double sum = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    if (base[i].role != merge::TensorRole::Parameter) continue;
    sum += (theta[i].value.to(torch::kFloat64) - base[i].value.to(torch::kFloat64)).pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

std::string lambda_text(const merge::MergeMethod& m, const FedclConfig& c) {
  auto it = c.lambda.find(m.name());
  if (it != c.lambda.end()) return runtime::json_number(it->second);
  if (!m.takes_lambda()) return "n_i/N";  // average: weighted by the clients' examples
  return runtime::json_number(m.default_lambda(1));
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(v.size());
}

// The examples of `classes` in the training set, in order.
std::vector<int64_t> indices_of(const std::vector<int64_t>& labels, const std::vector<int64_t>& classes) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (std::find(classes.begin(), classes.end(), labels[i]) != classes.end()) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

enum class JobKind { Client, Sequential, Joint };

// One training run of this rank's node group in a round.
struct Job {
  JobKind kind;
  int client = -1;  // JobKind::Client
  int task = -1;    // the client's task (split = tasks) or the sequential baseline's; else -1
  std::vector<int64_t> classes, shard;
  int64_t steps = 0;
  uint64_t seed = 0;
  std::unique_ptr<Trainer> trainer;
};

// One expert this node group holds: a client's model after a round, and its examples.
struct Expert {
  TensorBundle theta;
  double examples = 0;
  int task = -1;  // split = tasks: the client's task
};

}  // namespace

FedclReport simulate_fedcl(runtime::RuntimeContext& ctx, const FedclConfig& config) {
  const auto t_start = std::chrono::steady_clock::now();
  auto& world = *ctx.comm;
  FedclConfig c = config;
  FedclFiles files(c.save_dir);
  // fedcl.base: θ_0 and the architecture from a checkpoint (collective read).
  std::optional<InitWeights> from_file;
  if (!c.base.empty()) {
    world.set_phase("fedcl base checkpoint");
    from_file = read_model_checkpoint(world, c.base, "fedcl.base");
    c.train.model.kind = from_file->arch.kind;  // the family and its parameters; the data's shape stays
    c.train.model.params = from_file->arch.params;
  }
  const FedclPlan& plan = c.plan;
  const bool root = ctx.is_root();
  world.set_timeout(c.train.runtime.timeout_s);
  world.set_phase("fedcl set-up");
  merge::NodeGroups groups = merge::split_node_groups(world, c.nodes);
  runtime::RuntimeContext group_ctx{groups.group.get(), ctx.local_rank, ctx.local_size};
  groups.group->set_timeout(c.train.runtime.timeout_s);
  if (groups.leaders) groups.leaders->set_timeout(c.train.runtime.timeout_s);
  const int joint_group = 1 % c.nodes;
  const int max_group_size = (world.size() + c.nodes - 1) / c.nodes;

  // All data (loaded once: clients get shards of it), the model's full architecture, and a
  // model to evaluate in.
  data::DataSplits all;
  std::vector<data::Dataset> class_tests;
  std::vector<int64_t> train_labels;
  std::unique_ptr<growth::Model> eval_model;
  std::vector<std::unique_ptr<merge::MergeMethod>> methods;
  agree(world, [&] {
    auto options = c.train.data;
    options.classes.clear();
    all = data::load_data(options);
    if (!all.norm.known()) all.norm = data::compute_normalization(all.full_train);  // a file: alone, the same on every rank
    for (int64_t k = 0; k < all.num_classes; ++k) class_tests.push_back(data::select_classes(all.test, {k}));
    auto labels = all.train.labels.contiguous();
    train_labels.assign(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
    auto spec = c.train.model;
    spec.in_channels = all.channels;
    spec.in_height = all.height;
    spec.in_width = all.width;
    spec.classes = all.num_classes;
    eval_model = growth::build_model(spec, c.train.train.seed);
    for (const auto& name : c.methods) methods.push_back(merge::make_merge_method(name));
    if (from_file) {
      SPROUT_CHECK(from_file->arch.describe() == eval_model->arch().describe(), ConfigError, "--fedcl.base: '",
                   c.base, "' holds a model '", from_file->arch.describe(), "' but the data makes it '",
                   eval_model->arch().describe(), "'");
      merge::copy_into(eval_model->params(), from_file->weights);
    }
  });
  // Per-class correct/examples of `weights` on the classes of `tasks`.
  auto evaluate = [&](const TensorBundle& weights, const std::vector<int>& tasks) {
    merge::copy_into(eval_model->params(), weights);
    return evaluate_classes(*eval_model, class_tests, classes_of(plan, tasks), all, world, c.train.train.eval_batch);
  };
  auto task_accuracy = [&](const std::vector<double>& counts, const std::vector<int>& tasks) {
    std::vector<double> out;
    const size_t k = counts.size() / 2;
    size_t i = 0;
    for (int t : tasks) {
      double correct = 0, n = 0;
      for (size_t j = 0; j < plan.task_classes[t].size(); ++j, ++i) {
        correct += counts[i];
        n += counts[k + i];
      }
      out.push_back(n > 0 ? correct / n : std::numeric_limits<double>::quiet_NaN());
    }
    return out;
  };

  FedclReport report;
  report.dataset = c.train.data.name;
  report.nodes = c.nodes;
  report.world = world.size();
  report.init = c.init;
  report.clients = c.clients;
  report.sample = c.sample;
  report.split = c.split;
  report.alpha = c.alpha;
  report.merge_over = c.merge_over;
  report.prox_mu = c.prox_mu;
  report.freeze_head = c.freeze_head;
  report.seed = c.train.train.seed;
  report.steps = c.steps;
  report.warmup_steps = c.base.empty() ? c.warmup_steps : 0;
  report.base_checkpoint = c.base;
  report.warmup_classes = c.warmup_classes.empty() ? "all" : growth::join_ints(c.warmup_classes);
  report.architecture = eval_model->arch().describe();
  report.task_classes = plan.task_classes;
  for (const auto& m : methods) {
    report.models.push_back(m->name());
    report.lambda[m->name()] = lambda_text(*m, c);
  }
  if (c.baselines) report.models.insert(report.models.end(), {"sequential", "joint"});

  // θ_0.
  world.set_phase("fedcl base");
  TensorBundle base = merge::bundle_from(eval_model->params());
  if (from_file) {
    if (files.enabled()) files.save_base(world, from_file->content);
    from_file.reset();
  } else if (c.warmup_steps > 0 || files.enabled()) {
    // The warm-up run (with 0 steps it only gives the fresh model a checkpoint's form).
    Trainer warmup(ctx, run_config(c, c.warmup_classes, std::max<int64_t>(1, c.warmup_steps), c.train.train.seed));
    agree(world, [&] { warmup.prepare(); });
    warmup.load_weights(eval_model->params());
    if (c.warmup_steps > 0) warmup.run();
    base = merge::bundle_from(warmup.model().params());
    if (files.enabled()) files.save_base(world, capture_training_state(warmup, "base"));
  }
  std::vector<int64_t> tensor_elements;
  for (const auto& t : base) {
    tensor_elements.push_back(t.value.numel());
    report.model_bytes += t.value.numel() * static_cast<int64_t>(t.value.element_size());
  }
  const int64_t element_bytes = base.empty() ? 4 : static_cast<int64_t>(base.front().value.element_size());
  std::vector<int> all_tasks;
  for (int t = 0; t < plan.num_tasks(); ++t) all_tasks.push_back(t);
  report.base_accuracy = task_accuracy(evaluate(base, all_tasks), all_tasks);
  if (root) {
    std::printf("fedcl: %d node groups of %d ranks, %d clients (%g sampled per round, split %s), %d tasks over %d "
                "rounds; base θ0 accuracy %.1f%%\n",
                c.nodes, world.size(), c.clients, c.sample, c.split.c_str(), plan.num_tasks(), plan.num_rounds(),
                100.0 * mean_of(report.base_accuracy));
    std::fflush(stdout);
  }

  const bool home_groups = c.init == "sequential";  // client states stay with their group
  std::map<int, TensorBundle> client_state;         // init = sequential: this group's clients' last models
  std::vector<bool> holds_base(c.clients, false);   // the client has downloaded θ_0 (bytes accounting)
  std::vector<std::map<int64_t, int64_t>> client_classes(c.clients);  // examples held so far, per class
  std::vector<Expert> kept;      // merge_over = all: this group's experts of every round so far
  double kept_examples = 0;      // over every group's experts of every round so far
  int64_t kept_count = 0;
  std::map<std::string, TensorBundle> merged_models;  // method -> last round's merged model
  std::map<int, int64_t> task_experts;  // split = tasks: experts of each task among those merged (every group's)
  std::map<int, TensorBundle> task_models;  // method task_specific: each task's model, from its experts
  for (const auto& m : methods) merged_models[m->name()] = base;
  // Method task_specific (an oracle, merge/task_specific.cpp): task t's test classes are
  // evaluated on θ_0 + λ·(mean task vector of the merged experts of task t) — the expert
  // itself when there is one — and a task without a merged expert yet on θ_0. Returns the
  // same per-class counts as evaluate(merged, tasks).
  auto task_specific_counts = [&](const std::vector<Expert>& merging, const merge::MergeOptions& options,
                                  const std::vector<int>& tasks) {
    auto arithmetic = merge::make_merge_method("task_arithmetic");
    const double lambda = merge::resolve_lambda(*merge::make_merge_method("task_specific"), options, 1);
    std::vector<double> correct, examples;
    for (int t : tasks) {
      auto n = task_experts.find(t);
      if (n != task_experts.end() && n->second > 0) {
        std::vector<TensorBundle> mine;
        for (const auto& e : merging) {
          if (e.task == t) mine.push_back(e.theta);
        }
        merge::MergeOptions mean;
        mean.lambda = lambda / static_cast<double>(n->second);
        task_models[t] = merge::collective_merge(groups, *arithmetic, base, mine, mean);
      }
      auto model = task_models.find(t);
      const auto part = evaluate(model == task_models.end() ? base : model->second, {t});
      const size_t k = part.size() / 2;
      correct.insert(correct.end(), part.begin(), part.begin() + static_cast<std::ptrdiff_t>(k));
      examples.insert(examples.end(), part.begin() + static_cast<std::ptrdiff_t>(k), part.end());
    }
    correct.insert(correct.end(), examples.begin(), examples.end());
    return correct;
  };
  auto task_models_distance = [&](const std::vector<int>& tasks) {  // the mean over `tasks`
    double sum = 0;
    for (int t : tasks) {
      auto model = task_models.find(t);
      sum += model == task_models.end() ? 0.0 : distance(model->second, base);
    }
    return tasks.empty() ? 0.0 : sum / static_cast<double>(tasks.size());
  };
  TensorBundle sequential = base, joint = base;
  auto expert_accuracy = torch::zeros({2, plan.num_tasks()}, torch::kFloat64);  // [sum; count]
  for (int r = 0; r < plan.num_rounds(); ++r) {
    const auto t_round = std::chrono::steady_clock::now();
    world.set_phase(concat("fedcl round ", r + 1, " training"));
    const uint64_t seed = c.train.train.seed * 1000003ULL + 101ULL * (r + 1);
    FedclRound round;
    round.round = r + 1;
    round.new_tasks = plan.round_tasks[r];
    round.seen = plan.seen(r);
    round.sampled = sample_clients(c.clients, c.sample, c.train.train.seed, r);
    const RoundSplit split = split_round(train_labels, plan.round_tasks[r], plan.task_classes, c.clients, c.split,
                                         c.alpha, c.train.train.seed, r);
    round.split_hash = split_hash(split);
    int64_t trained_clients = 0;
    double round_examples = 0;
    for (int client : round.sampled) {
      const auto n = static_cast<int64_t>(split.shards[client].size());
      round.examples.push_back(n);
      trained_clients += n > 0;
      round_examples += static_cast<double>(n);
    }
    for (int client = 0; client < c.clients; ++client) {
      for (int64_t i : split.shards[client]) ++client_classes[client][train_labels[i]];
    }
    // This group's jobs: its sampled clients, one after another, each data-parallel over the
    // group; then the baselines (one model through the round's tasks in order on group 0,
    // one on every class seen so far on group 1 mod N). Prepared together (no collectives),
    // so a refusal on any rank ends every rank with one line.
    std::vector<Job> jobs;
    for (int client : clients_of_group(round.sampled, groups.index, c.nodes, home_groups)) {
      if (split.shards[client].empty()) continue;  // nothing of this round's tasks (split = tasks)
      const int task = split.task_of_client[client];
      const auto classes = task >= 0 ? plan.task_classes[task] : classes_of(plan, plan.round_tasks[r]);
      jobs.push_back({JobKind::Client, client, task, classes, split.shards[client], c.steps,
                      task >= 0 ? seed + 13 * task : seed + 13 * client + 5, nullptr});
    }
    if (c.baselines && groups.index == 0) {
      for (int t : plan.round_tasks[r]) {
        const auto& k = plan.task_classes[t];
        jobs.push_back({JobKind::Sequential, -1, t, k, indices_of(train_labels, k), c.steps, seed + 13 * t + 7, nullptr});
      }
    }
    if (c.baselines && groups.index == joint_group) {
      const auto k = classes_of(plan, plan.seen(r));
      jobs.push_back({JobKind::Joint, -1, -1, k, indices_of(train_labels, k),
                      c.steps * static_cast<int64_t>(plan.round_tasks[r].size()), seed + 97, nullptr});
    }
    agree(world, [&] {
      if (c.split != "tasks") {
        size_t smallest = split.shards.front().size();
        for (const auto& shard : split.shards) smallest = std::min(smallest, shard.size());
        SPROUT_CHECK(static_cast<int64_t>(smallest) >= c.train.train.batch * max_group_size, ConfigError, "--fedcl.clients: ", c.clients,
                     " clients leave ", smallest, " training examples to a client in round ", r + 1,
                     ", fewer than one batch (train.batch ", c.train.train.batch, " x ", max_group_size, " ranks)");
      }
      for (auto& job : jobs) {
        job.trainer = prepare_client(group_ctx, run_config(c, job.classes, job.steps, job.seed),
                                     client_data(all, job.shard, job.classes), c.freeze_head);
      }
    });
    std::vector<Expert> fresh;
    for (auto& job : jobs) {
      if (job.kind == JobKind::Sequential) {
        sequential = train_client(*job.trainer, sequential, 0).trained;
      } else if (job.kind == JobKind::Joint) {
        joint = train_client(*job.trainer, joint, 0).trained;
      } else {
        auto state = client_state.find(job.client);
        const TensorBundle& start = c.init == "global" ? merged_models.begin()->second
                                    : (c.init == "sequential" && state != client_state.end()) ? state->second
                                                                                              : base;
        ClientResult result = train_client(*job.trainer, start, c.prox_mu);
        if (files.enabled()) {
          files.save_expert(*groups.group, *job.trainer,
                            job.task >= 0 ? files.expert_path(r + 1, job.task) : files.client_path(r + 1, job.client));
        }
        if (groups.leader()) {
          for (int t : job.task >= 0 ? std::vector<int>{job.task} : plan.round_tasks[r]) {
            expert_accuracy[0][t] += result.test.accuracy;
            expert_accuracy[1][t] += 1;
          }
        }
        if (c.init == "sequential") client_state[job.client] = result.trained;
        fresh.push_back({std::move(result.trained), static_cast<double>(job.shard.size()), job.task});
      }
      job.trainer.reset();
    }
    if (c.merge_over == "round") task_experts.clear();
    for (size_t i = 0; i < round.sampled.size(); ++i) {
      const int task = split.task_of_client[round.sampled[i]];
      if (round.examples[i] > 0 && task >= 0) ++task_experts[task];
    }
    if (c.merge_over == "all") {
      for (auto& e : fresh) kept.push_back(e);
      kept_examples += round_examples;
      kept_count += trained_clients;
    }
    const std::vector<Expert>& merging = c.merge_over == "all" ? kept : fresh;
    const double merging_examples = c.merge_over == "all" ? kept_examples : round_examples;
    const int64_t merging_count = c.merge_over == "all" ? kept_count : trained_clients;

    const auto seen_classes = classes_of(plan, round.seen);
    for (const auto& m : methods) {
      world.set_phase(concat("fedcl round ", r + 1, " merge ", m->name()));
      const TensorBundle& merge_base = c.init == "global" ? merged_models[m->name()] : base;
      merge::MergeOptions options = c.merge_settings;
      auto it = c.lambda.find(m->name());
      if (it != c.lambda.end()) options.lambda = it->second;
      TensorBundle merged = merged_models[m->name()];  // no client trained: the model stays
      std::vector<double> counts;
      if (m->name() == "task_specific") {
        counts = task_specific_counts(merging, options, round.seen);
        round.distance[m->name()] = task_models_distance(round.seen);
      } else if (merging_count > 0 && m->name() == "average") {
        // Weighted by examples (Note [Weighted average as task arithmetic]).
        std::vector<TensorBundle> scaled;
        for (const auto& e : merging) scaled.push_back(merge::weight_task_vector(merge_base, e.theta, e.examples / merging_examples));
        merge::MergeOptions one;
        one.lambda = 1.0;
        merged = merge::collective_merge(groups, *merge::make_merge_method("task_arithmetic"), merge_base, scaled, one);
      } else if (merging_count > 0) {
        std::vector<TensorBundle> thetas;
        for (const auto& e : merging) thetas.push_back(e.theta);
        merged = merge::collective_merge(groups, *m, merge_base, thetas, options);
      }
      if (m->name() != "task_specific") {
        merged_models[m->name()] = merged;
        counts = evaluate(merged, round.seen);
        round.distance[m->name()] = distance(merged, base);
      }
      round.accuracy[m->name()] = task_accuracy(counts, round.seen);
      std::map<int64_t, double> class_accuracy;
      for (size_t i = 0; i < seen_classes.size(); ++i) {
        class_accuracy[seen_classes[i]] = counts[i] / std::max(1.0, counts[seen_classes.size() + i]);
      }
      auto& per_client = round.client_accuracy[m->name()];
      for (const auto& held : client_classes) {
        double hit = 0, n = 0;
        for (const auto& [k, count] : held) {
          hit += class_accuracy[k] * static_cast<double>(count);
          n += static_cast<double>(count);
        }
        if (n > 0) per_client.push_back(hit / n);
      }
      round.upload_bytes[m->name()] =
          trained_clients * upload_bytes(m->name(), tensor_elements, element_bytes, c.merge_settings.density);
      int64_t down = 0;
      for (size_t i = 0; i < round.sampled.size(); ++i) {
        if (round.examples[i] == 0) continue;
        if (c.init == "global" || !holds_base[round.sampled[i]]) down += report.model_bytes;
      }
      round.download_bytes[m->name()] = down;
      if (files.enabled() && m->name() != "task_specific") {  // its models are the experts, saved already
        const int n = static_cast<int>(merging_count);
        files.save_merged(world, r + 1, m->name(), merge::resolve_lambda(*m, options, std::max(1, n)), n, merged);
      }
    }
    for (size_t i = 0; i < round.sampled.size(); ++i) {
      if (round.examples[i] > 0) holds_base[round.sampled[i]] = true;
    }
    if (c.baselines) {
      world.set_phase(concat("fedcl round ", r + 1, " baselines"));
      merge::broadcast_bundle(world, sequential, merge::node_group_first_rank(0, world.size(), c.nodes));
      round.accuracy["sequential"] = task_accuracy(evaluate(sequential, round.seen), round.seen);
      round.distance["sequential"] = distance(sequential, base);
      merge::broadcast_bundle(world, joint, merge::node_group_first_rank(joint_group, world.size(), c.nodes));
      round.accuracy["joint"] = task_accuracy(evaluate(joint, round.seen), round.seen);
      round.distance["joint"] = distance(joint, base);
    }
    // Rank 0's clock, so that every rank reports the same number.
    round.wall_s = runtime::allreduce_scalar(
        world, root ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t_round).count() : 0.0,
        runtime::ReduceOp::Sum);
    if (root) {
      std::string line = concat("round ", r + 1, "/", plan.num_rounds(), ": ", trained_clients, " of ",
                                round.sampled.size(), " sampled clients trained, tasks");
      for (int t : round.new_tasks) line += concat(" ", t);
      line += "; average accuracy over tasks 0-" + std::to_string(round.seen.back()) + ":";
      for (const auto& m : report.models) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s %.1f%%", m.c_str(), 100.0 * average_accuracy(round, m));
        line += buf;
      }
      char wall[48];
      std::snprintf(wall, sizeof wall, "; %.2f s", round.wall_s);
      std::printf("%s%s\n", line.c_str(), wall);
      std::fflush(stdout);
    }
    report.rounds.push_back(std::move(round));
  }
  world.set_phase("fedcl report");
  world.allreduce(expert_accuracy, runtime::ReduceOp::Sum);  // the group leaders' entries
  for (int t = 0; t < plan.num_tasks(); ++t) {
    const double n = expert_accuracy[1][t].item<double>();
    report.expert_accuracy.push_back(n > 0 ? expert_accuracy[0][t].item<double>() / n
                                           : std::numeric_limits<double>::quiet_NaN());
  }
  if (root && files.enabled()) {
    std::printf("saved the base, the clients' models and %d merged models under %s\n",
                plan.num_rounds() * static_cast<int>(methods.size()), c.save_dir.c_str());
  }
  report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return report;
}

}  // namespace sprout::launch
