#include "launch/fedcl/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "merge/method.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

// Options of `sprout train` that fedcl decides itself (tasks, steps, quiet inner runs,
// where models come from and go): its runs neither grow, checkpoint, resume nor init.
bool not_from_train(const std::string& name) {
  static const std::set<std::string> kNames = {"data.classes",    "train.steps", "train.epochs", "train.eval_every",
                                               "train.log_every", "log.metrics", "log.progress", "resume"};
  for (const char* prefix : {"growth.", "checkpoint.", "init."}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return kNames.count(name) > 0;
}

template <typename T>
void require(bool ok, const std::string& option, const T& value, const std::string& what) {
  SPROUT_CHECK(ok, ConfigError, "--", option, ": ", value, " ", what);
}

}  // namespace

int FedclPlan::task_of(int node, int round) const {
  for (int t : round_tasks.at(round)) {
    if (node_of(t) == node) return t;
  }
  return -1;
}

std::vector<int> FedclPlan::seen(int round) const {
  std::vector<int> out;
  for (int r = 0; r <= round; ++r) out.insert(out.end(), round_tasks.at(r).begin(), round_tasks.at(r).end());
  return out;
}

FedclPlan make_fedcl_plan(int tasks, int nodes, int rounds, int num_classes) {
  require(tasks >= 1 && tasks <= num_classes, "fedcl.tasks", tasks,
          concat("must be in [1, ", num_classes, "] (one class per task at least)"));
  require(nodes >= 1 && nodes <= tasks, "fedcl.nodes", nodes,
          concat("must be in [1, fedcl.tasks = ", tasks, "] (every node group learns a task)"));
  const int min_rounds = (tasks + nodes - 1) / nodes;
  if (rounds == 0) rounds = min_rounds;
  require(rounds >= min_rounds && rounds <= tasks, "fedcl.rounds", rounds,
          concat("must be in [", min_rounds, ", ", tasks, "] for ", tasks, " tasks on ", nodes,
                 " node groups (at most one task per group and at least one per round)"));
  FedclPlan p;
  p.nodes = nodes;
  for (int t = 0; t < tasks; ++t) {
    std::vector<int64_t> classes;
    for (int c = t * num_classes / tasks; c < (t + 1) * num_classes / tasks; ++c) classes.push_back(c);
    p.task_classes.push_back(classes);
  }
  for (int r = 0; r < rounds; ++r) {
    std::vector<int> dealt;
    for (int t = (r * tasks + rounds - 1) / rounds; t < ((r + 1) * tasks + rounds - 1) / rounds; ++t) dealt.push_back(t);
    p.round_tasks.push_back(dealt);
  }
  return p;
}

OptionTable fedcl_option_table() {
  OptionTable table = {
      {"fedcl.nodes", "2", "node groups (world split into groups of consecutive ranks, data-parallel inside)"},
      {"fedcl.tasks", "5", "class-incremental tasks (classes cut into consecutive groups: 5 -> {0,1},{2,3},...)"},
      {"fedcl.rounds", "0", "rounds the tasks are dealt over (0: ceil(tasks/nodes))"},
      {"fedcl.init", "base", "experts start from: base (theta_0) | sequential (the group's previous expert)"},
      {"fedcl.methods", "magmax,average,task_arithmetic,ties", "merge methods to compare"},
      {"fedcl.lambda", "", "per-method lambda, e.g. magmax=0.5,ties=0.55 (default: the papers' reference values)"},
      {"fedcl.ties_density", "0.2", "ties: fraction of each tensor's task vector kept"},
      {"fedcl.warmup_classes", "", "classes the base theta_0 is trained on (empty: all)"},
      {"fedcl.warmup_steps", "200", "steps of base training on the whole world (0: fresh initialisation)"},
      {"fedcl.steps", "200", "fine-tuning steps per expert (and per task for the baselines)"},
      {"fedcl.baselines", "true", "also run sequential fine-tuning (lower bound) and joint training (upper bound)"},
      {"fedcl.freeze_head", "false",
       "fine-tuning keeps the output layer at theta_0's (like the MagMax paper's frozen zero-shot heads)"},
      {"fedcl.report", "fedcl-report", "write <report>.json and <report>.csv (rank 0; empty: none)"},
      {"fedcl.save_dir", "", "keep the base, every expert and every merged model as checkpoints here"},
      {"fedcl.base", "", "theta_0 and its architecture from this checkpoint (no warm-up)"},
  };
  for (auto& o : train_option_table()) {
    if (!not_from_train(o.name)) table.push_back(o);
  }
  return table;
}

FedclConfig read_fedcl_config(const Options& o, int world_size) {
  FedclConfig c;
  // The training options go through `sprout train`'s reader (same validation, same messages).
  Options train = Options::defaults(train_option_table());
  for (const auto& spec : train_option_table()) {
    if (!not_from_train(spec.name) && o.has(spec.name)) train.set(spec.name, o.get(spec.name));
  }
  train.set("train.steps", "1");
  train.set("log.progress", "none");
  c.train = read_train_config(train);

  c.nodes = static_cast<int>(o.get_int("fedcl.nodes"));
  require(c.nodes >= 1 && c.nodes <= world_size, "fedcl.nodes", c.nodes,
          concat("must be in [1, ", world_size, "] (one rank per node group at least; the world has ", world_size,
                 ")"));
  c.tasks = static_cast<int>(o.get_int("fedcl.tasks"));
  c.rounds = static_cast<int>(o.get_int("fedcl.rounds"));
  require(c.rounds >= 0, "fedcl.rounds", c.rounds, "must be >= 0");
  c.plan = make_fedcl_plan(c.tasks, c.nodes, c.rounds, 10);
  c.rounds = c.plan.num_rounds();

  c.init = o.get("fedcl.init");
  require(c.init == "base" || c.init == "sequential", "fedcl.init", "'" + c.init + "'",
          "is not one of base, sequential");
  c.methods = o.get_string_list("fedcl.methods");
  require(!c.methods.empty(), "fedcl.methods", "''", "names no method");
  std::set<std::string> distinct;
  for (const auto& m : c.methods) {
    try {
      merge::make_merge_method(m);
    } catch (const ConfigError& e) {
      throw ConfigError(concat("--fedcl.methods: ", e.what()));
    }
    require(distinct.insert(m).second, "fedcl.methods", "'" + m + "'", "is listed twice");
  }
  for (const auto& item : o.get_string_list("fedcl.lambda")) {
    const auto eq = item.find('=');
    require(eq != std::string::npos, "fedcl.lambda", "'" + item + "'", "is not method=value");
    const std::string name = item.substr(0, eq), value = item.substr(eq + 1);
    std::unique_ptr<merge::MergeMethod> m;
    try {
      m = merge::make_merge_method(name);
    } catch (const ConfigError& e) {
      throw ConfigError(concat("--fedcl.lambda: ", e.what()));
    }
    size_t used = 0;
    double v = NAN;
    try {
      v = std::stod(value, &used);
    } catch (...) {
      used = 0;
    }
    require(used == value.size() && !value.empty() && std::isfinite(v), "fedcl.lambda", "'" + item + "'",
            "has no finite number after '='");
    merge::MergeOptions mo;
    mo.lambda = v;
    merge::resolve_lambda(*m, mo, 1, "fedcl.lambda");  // average refuses a lambda
    c.lambda[name] = v;
  }
  c.ties_density = o.get_double("fedcl.ties_density");
  merge::MergeOptions mo;
  mo.density = c.ties_density;
  merge::validate(mo, "fedcl.ties_density");

  c.warmup_classes = o.get_int_list("fedcl.warmup_classes");
  for (auto k : c.warmup_classes) require(k >= 0 && k < 10, "fedcl.warmup_classes", k, "is not a class in [0, 10)");
  c.warmup_steps = o.get_int("fedcl.warmup_steps");
  require(c.warmup_steps >= 0, "fedcl.warmup_steps", c.warmup_steps, "must be >= 0");
  c.steps = o.get_int("fedcl.steps");
  require(c.steps >= 1, "fedcl.steps", c.steps, "must be >= 1");
  c.baselines = o.get_bool("fedcl.baselines");
  c.freeze_head = o.get_bool("fedcl.freeze_head");
  c.report = o.get("fedcl.report");
  c.save_dir = o.get("fedcl.save_dir");
  while (c.save_dir.size() > 1 && c.save_dir.back() == '/') c.save_dir.pop_back();
  if (!c.save_dir.empty()) {
    struct stat st;
    require(::stat(c.save_dir.c_str(), &st) != 0 || S_ISDIR(st.st_mode), "fedcl.save_dir", "'" + c.save_dir + "'",
            "exists and is not a directory");
  }
  c.base = o.get("fedcl.base");
  if (!c.base.empty()) {
    struct stat st;
    require(::stat(c.base.c_str(), &st) == 0 && S_ISREG(st.st_mode), "fedcl.base", "'" + c.base + "'",
            "is not a checkpoint file");
  }
  c.text = o.canonical_text();
  return c;
}

}  // namespace sprout::launch
