#include "launch/fedcl/runner.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "launch/cli/rank_agreement.h"
#include "launch/checkpoint/run_state.h"
#include "launch/fedcl/files.h"
#include "launch/train/init_from.h"
#include "launch/train/trainer.h"
#include "merge/collective.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

using merge::TensorBundle;

enum class JobKind { Expert, Sequential, Joint };

// One training run of this rank's node group in a round.
struct Job {
  JobKind kind;
  int task = -1;
  std::unique_ptr<Trainer> trainer;
};

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

// Accuracy of `model` on each of `tests`, the examples sharded over `comm`. Collective.
std::vector<double> evaluate_tasks(growth::Model& model, const std::vector<data::Dataset>& tests,
                                   const data::DataSplits& norm, runtime::Communicator& comm, int64_t batch) {
  torch::NoGradGuard no_grad;
  const size_t k = tests.size();
  auto counts = torch::zeros({2 * static_cast<int64_t>(k)}, torch::kFloat64);  // [correct..., examples...]
  for (size_t t = 0; t < k; ++t) {
    const int64_t n = tests[t].size();
    const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
    double correct = 0;
    for (int64_t b = lo; b < hi; b += batch) {
      const int64_t m = std::min(batch, hi - b);
      auto x = data::to_input(tests[t].images.narrow(0, b, m), norm.mean, norm.stddev);  // (m, C, H, W)
      auto y = tests[t].labels.narrow(0, b, m);                                          // (m)
      correct += model.forward(x, false).argmax(1).eq(y).sum().item<double>();
    }
    counts[t] = correct;
    counts[k + t] = static_cast<double>(hi - lo);
  }
  comm.allreduce(counts, runtime::ReduceOp::Sum);
  std::vector<double> out;
  for (size_t t = 0; t < k; ++t) {
    const double n = counts[k + t].item<double>();
    out.push_back(n > 0 ? counts[t].item<double>() / n : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

// The output layer (the module of the last registered parameter) gets learning-rate scale 0:
// its task vector is exactly 0, so every merge keeps θ_0's head.
void freeze_head(Trainer& trainer) {
  auto& params = trainer.model().params();
  const std::string& last = params.parameter_name(params.num_parameters() - 1);
  const std::string head = last.substr(0, last.find('.') + 1);  // "fc3."
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    if (params.parameter_name(i).rfind(head, 0) == 0) {
      trainer.optimizer().set_lr_scale(params.parameter_name(i), torch::zeros_like(params.parameter(i)).detach());
    }
  }
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
  if (!m.takes_lambda()) return "1/n";
  return runtime::json_number(m.default_lambda(1));
}

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

  // Evaluation data (every class), the model's full architecture, and a model to evaluate in.
  data::DataSplits eval;
  std::vector<data::Dataset> task_tests;
  std::unique_ptr<growth::Model> eval_model;
  std::vector<std::unique_ptr<merge::MergeMethod>> methods;
  agree(world, [&] {
    auto options = c.train.data;
    options.classes.clear();
    eval = data::load_data(options);
    for (const auto& classes : plan.task_classes) task_tests.push_back(data::select_classes(eval.test, classes));
    auto spec = c.train.model;
    spec.in_channels = eval.channels;
    spec.in_height = eval.height;
    spec.in_width = eval.width;
    spec.classes = eval.num_classes;
    eval_model = growth::build_model(spec, c.train.train.seed);
    for (const auto& name : c.methods) methods.push_back(merge::make_merge_method(name));
    if (from_file) {
      SPROUT_CHECK(from_file->arch.describe() == eval_model->arch().describe(), ConfigError, "--fedcl.base: '",
                   c.base, "' holds a model '", from_file->arch.describe(), "' but the data makes it '",
                   eval_model->arch().describe(), "'");
      merge::copy_into(eval_model->params(), from_file->weights);
    }
  });
  auto evaluate = [&](const TensorBundle& weights, const std::vector<int>& tasks) {
    merge::copy_into(eval_model->params(), weights);
    std::vector<data::Dataset> tests;
    for (int t : tasks) tests.push_back(task_tests[t]);
    return evaluate_tasks(*eval_model, tests, eval, world, c.train.train.eval_batch);
  };

  FedclReport report;
  report.dataset = c.train.data.name;
  report.nodes = c.nodes;
  report.world = world.size();
  report.init = c.init;
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
  std::vector<int> all_tasks;
  for (int t = 0; t < plan.num_tasks(); ++t) all_tasks.push_back(t);
  report.base_accuracy = evaluate(base, all_tasks);
  if (root) {
    std::printf("fedcl: %d node groups of %d ranks, %d tasks over %d rounds; base θ0 accuracy %.1f%%\n", c.nodes,
                world.size(), plan.num_tasks(), plan.num_rounds(),
                100.0 * average_accuracy(FedclRound{0, {}, all_tasks, {{"base", report.base_accuracy}}}, "base"));
    std::fflush(stdout);
  }

  std::vector<TensorBundle> experts;  // this group's experts, oldest first
  TensorBundle sequential = base, joint = base;
  auto expert_accuracy = torch::zeros({plan.num_tasks()}, torch::kFloat64);
  for (int r = 0; r < plan.num_rounds(); ++r) {
    world.set_phase(concat("fedcl round ", r + 1, " training"));
    const uint64_t seed = c.train.train.seed * 1000003ULL + 101ULL * (r + 1);
    std::vector<Job> jobs;
    const int task = plan.task_of(groups.index, r);
    if (task >= 0) jobs.push_back({JobKind::Expert, task, nullptr});
    if (c.baselines && groups.index == 0) {
      for (int t : plan.round_tasks[r]) jobs.push_back({JobKind::Sequential, t, nullptr});
    }
    if (c.baselines && groups.index == joint_group) jobs.push_back({JobKind::Joint, -1, nullptr});
    agree(world, [&] {
      for (auto& job : jobs) {
        const bool joint_job = job.kind == JobKind::Joint;
        const auto classes = joint_job ? classes_of(plan, plan.seen(r)) : plan.task_classes[job.task];
        const int64_t steps = joint_job ? c.steps * static_cast<int64_t>(plan.round_tasks[r].size()) : c.steps;
        const uint64_t job_seed = seed + (joint_job ? 97 : 13 * job.task + (job.kind == JobKind::Expert ? 0 : 7));
        job.trainer = std::make_unique<Trainer>(group_ctx, run_config(c, classes, steps, job_seed));
        job.trainer->prepare();
        if (c.freeze_head) freeze_head(*job.trainer);
      }
    });
    for (auto& job : jobs) {
      const TensorBundle& start = job.kind == JobKind::Sequential ? sequential
                                  : job.kind == JobKind::Joint    ? joint
                                  : (c.init == "sequential" && !experts.empty()) ? experts.back()
                                                                                 : base;
      job.trainer->load_weights(merge::to_param_set(start));
      const TrainResult result = job.trainer->run();
      TensorBundle trained = merge::bundle_from(job.trainer->model().params());
      if (job.kind == JobKind::Expert && files.enabled()) files.save_expert(*groups.group, *job.trainer, r + 1, job.task);
      job.trainer.reset();
      if (job.kind == JobKind::Expert) {
        experts.push_back(std::move(trained));
        if (groups.leader()) expert_accuracy[job.task] = result.test.accuracy;
      } else if (job.kind == JobKind::Sequential) {
        sequential = std::move(trained);
      } else {
        joint = std::move(trained);
      }
    }

    FedclRound round;
    round.round = r + 1;
    round.new_tasks = plan.round_tasks[r];
    round.seen = plan.seen(r);
    for (const auto& m : methods) {
      world.set_phase(concat("fedcl round ", r + 1, " merge ", m->name()));
      merge::MergeOptions options = c.merge_settings;
      auto it = c.lambda.find(m->name());
      if (it != c.lambda.end()) options.lambda = it->second;
      const auto merged = merge::collective_merge(groups, *m, base, experts, options);
      round.accuracy[m->name()] = evaluate(merged, round.seen);
      round.distance[m->name()] = distance(merged, base);
      if (files.enabled()) {
        const int n = static_cast<int>(round.seen.size());
        files.save_merged(world, r + 1, m->name(), merge::resolve_lambda(*m, options, n), n, merged);
      }
    }
    if (c.baselines) {
      world.set_phase(concat("fedcl round ", r + 1, " baselines"));
      merge::broadcast_bundle(world, sequential, merge::node_group_first_rank(0, world.size(), c.nodes));
      round.accuracy["sequential"] = evaluate(sequential, round.seen);
      round.distance["sequential"] = distance(sequential, base);
      merge::broadcast_bundle(world, joint, merge::node_group_first_rank(joint_group, world.size(), c.nodes));
      round.accuracy["joint"] = evaluate(joint, round.seen);
      round.distance["joint"] = distance(joint, base);
    }
    if (root) {
      std::string line = concat("round ", r + 1, "/", plan.num_rounds(), ": tasks");
      for (int t : round.new_tasks) line += concat(" ", t, "->group ", plan.node_of(t));
      line += "; average accuracy over tasks 0-" + std::to_string(round.seen.back()) + ":";
      for (const auto& m : report.models) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s %.1f%%", m.c_str(), 100.0 * average_accuracy(round, m));
        line += buf;
      }
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
    report.rounds.push_back(std::move(round));
  }
  world.set_phase("fedcl report");
  world.allreduce(expert_accuracy, runtime::ReduceOp::Sum);  // one leader wrote each task's entry
  for (int t = 0; t < plan.num_tasks(); ++t) report.expert_accuracy.push_back(expert_accuracy[t].item<double>());
  if (root && files.enabled()) {
    std::printf("saved the base, %d experts and %d merged models under %s\n", plan.num_tasks(),
                plan.num_rounds() * static_cast<int>(methods.size()), c.save_dir.c_str());
  }
  report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return report;
}

}  // namespace sprout::launch
