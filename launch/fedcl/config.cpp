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
                                               "train.log_every", "log.metrics", "log.progress", "resume",
                                               "data.path",       "data.num_classes"};  // its plan has 10 classes
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

FedclPlan make_fedcl_plan(int tasks, int nodes, int rounds, int num_classes, const std::string& holders_option) {
  require(tasks >= 1 && tasks <= num_classes, "fedcl.tasks", tasks,
          concat("must be in [1, ", num_classes, "] (one class per task at least)"));
  require(nodes >= 1 && nodes <= tasks, holders_option, nodes,
          concat("must be in [1, fedcl.tasks = ", tasks, "] (with fedcl.split = tasks every ",
                 holders_option == "fedcl.nodes" ? "node group" : "client", " learns a task)"));
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

namespace {

std::string method_names_text() {
  std::string out;
  for (const auto& n : merge::merge_method_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "magmax=0.5,ties=0.55": per-method lambda, each method known and taking one.
std::map<std::string, double> parse_lambdas(const std::string& text) {
  std::map<std::string, double> out;
  for (const auto& item : parse_list("fedcl.lambda", text)) {
    const auto eq = item.find('=');
    require(eq != std::string::npos, "fedcl.lambda", "'" + item + "'", "is not method=value");
    const std::string name = item.substr(0, eq);
    std::unique_ptr<merge::MergeMethod> m;
    try {
      m = merge::make_merge_method(name);
    } catch (const ConfigError& e) {
      throw ConfigError(concat("--fedcl.lambda: ", e.what()));
    }
    const auto v = to_number(item.substr(eq + 1));
    require(v.has_value(), "fedcl.lambda", "'" + item + "'", "has no finite number after '='");
    merge::MergeOptions mo;
    mo.lambda = *v;
    merge::resolve_lambda(*m, mo, 1, "fedcl.lambda");  // average refuses a lambda
    out[name] = *v;
  }
  return out;
}

}  // namespace

void bind_fedcl_options(OptionBinder& b, FedclConfig& c) {
  b.add("fedcl.nodes", &c.nodes, "node groups (world split into groups of consecutive ranks, data-parallel inside)");
  b.add("fedcl.tasks", &c.tasks, "class-incremental tasks (classes cut into consecutive groups: 5 -> {0,1},{2,3},...)");
  b.add("fedcl.rounds", &c.rounds, "rounds the tasks are dealt over (0: ceil(tasks/nodes))");
  b.add("fedcl.clients", &c.clients, "virtual clients, scheduled over the node groups (0: one per node group)");
  b.add("fedcl.sample", &c.sample, "fraction of the clients sampled each round, in (0, 1] (seeded by train.seed)");
  b.add("fedcl.split", &c.split,
        "what a client holds of a round's tasks: tasks (task t whole to client t mod clients) | iid | dirichlet");
  b.add("fedcl.alpha", &c.alpha, "dirichlet split: concentration of each client's class proportions, > 0");
  b.add("fedcl.init", &c.init,
        "clients start from: base (theta_0) | sequential (the client's previous model) | global (the last merged "
        "model; FedAvg with average)");
  b.add("fedcl.merge_over", &c.merge_over,
        "merge the experts of: all (every round so far) | round (this round's clients); empty: all, round with "
        "init = global");
  b.add("fedcl.prox_mu", &c.prox_mu, "FedProx proximal coefficient mu (0: none)");
  b.add("fedcl.methods", &c.methods, "merge methods to compare, among " + method_names_text());
  b.add_parsed("fedcl.lambda", "", "per-method lambda, e.g. magmax=0.5,ties=0.55 (default: the papers' reference values)",
               [&c](const std::vector<std::string>& v) { c.lambda = parse_lambdas(v.back()); });
  for (const auto& method : merge::merge_method_names()) {  // fedcl.ties_density, ...
    // task_specific's expert index has no meaning here: fedcl evaluates each task on the
    // experts of that task (runner.cpp).
    if (method == "task_specific") continue;
    OptionBinder::Prefixed section(b, "fedcl." + method + "_");
    merge::declare_method_settings(method, section, c.merge_settings);
  }
  b.add("fedcl.warmup_classes", &c.warmup_classes, "classes the base theta_0 is trained on (empty: all)");
  b.add("fedcl.warmup_steps", &c.warmup_steps, "steps of base training on the whole world (0: fresh initialisation)");
  b.add("fedcl.steps", &c.steps, "fine-tuning steps per expert (and per task for the baselines)");
  b.add("fedcl.baselines", &c.baselines,
        "also run sequential fine-tuning (lower bound) and joint training (upper bound)");
  b.add("fedcl.freeze_head", &c.freeze_head,
        "fine-tuning keeps the output layer at theta_0's (like the MagMax paper's frozen zero-shot heads)");
  b.add("fedcl.report", &c.report, "write <report>.json and <report>.csv (rank 0; empty: none)");
  b.add("fedcl.save_dir", &c.save_dir, "keep the base, every expert and every merged model as checkpoints here");
  b.add("fedcl.base", &c.base, "theta_0 and its architecture from this checkpoint (no warm-up)");
}

OptionTable fedcl_option_table() {
  OptionTable table = table_of(bind_fedcl_options);
  for (auto& o : train_option_table()) {
    if (!not_from_train(o.name)) table.push_back(o);
  }
  return table;
}

FedclConfig read_fedcl_config(const Options& o, int world_size) {
  FedclConfig c = load_bound(o, bind_fedcl_options);
  // The training options go through `sprout train`'s reader (same validation, same messages).
  require(!o.has("data.name") || o.get("data.name") != "hdf5", "data.name", "'hdf5'",
          "is not available to fedcl (its task plan has 10 classes): fashion-mnist, mnist or synthetic");
  Options train = Options::defaults(train_option_table());
  for (const auto& spec : train_option_table()) {
    if (!not_from_train(spec.name) && o.has(spec.name)) train.set(spec.name, o.get(spec.name));
  }
  train.set("train.steps", "1");
  train.set("log.progress", "none");
  c.train = read_train_config(train);

  require(c.nodes >= 1 && c.nodes <= world_size, "fedcl.nodes", c.nodes,
          concat("must be in [1, ", world_size, "] (one rank per node group at least; the world has ", world_size,
                 ")"));
  require(c.rounds >= 0, "fedcl.rounds", c.rounds, "must be >= 0");
  require(c.clients >= 0, "fedcl.clients", c.clients, "must be >= 0 (0: one per node group)");
  const bool default_clients = c.clients == 0;
  if (default_clients) c.clients = c.nodes;
  require(c.clients >= c.nodes, "fedcl.clients", c.clients,
          concat("must be >= fedcl.nodes = ", c.nodes, " (every node group trains a client)"));
  require(std::isfinite(c.sample) && c.sample > 0 && c.sample <= 1, "fedcl.sample", c.sample, "must be in (0, 1]");
  require(std::isfinite(c.alpha) && c.alpha > 0, "fedcl.alpha", c.alpha, "must be > 0");
  require(std::isfinite(c.prox_mu) && c.prox_mu >= 0, "fedcl.prox_mu", c.prox_mu, "must be >= 0");
  require(c.split == "tasks" || c.split == "iid" || c.split == "dirichlet", "fedcl.split", "'" + c.split + "'",
          "is not one of tasks, iid, dirichlet");
  if (c.split == "tasks") {
    c.plan = make_fedcl_plan(c.tasks, c.clients, c.rounds, 10, default_clients ? "fedcl.nodes" : "fedcl.clients");
  } else {
    c.plan = make_fedcl_plan(c.tasks, c.tasks, c.rounds == 0 ? c.tasks : c.rounds, 10);
    c.plan.nodes = c.clients;
  }
  c.rounds = c.plan.num_rounds();

  require(c.init == "base" || c.init == "sequential" || c.init == "global", "fedcl.init", "'" + c.init + "'",
          "is not one of base, sequential, global");
  if (c.merge_over.empty()) c.merge_over = c.init == "global" ? "round" : "all";
  require(c.merge_over == "all" || c.merge_over == "round", "fedcl.merge_over", "'" + c.merge_over + "'",
          "is not one of all, round");
  require(!(c.init == "global" && c.merge_over == "all"), "fedcl.merge_over", "'all'",
          "needs fedcl.init = base or sequential (with global the clients' task vectors are taken against "
          "the round's start, so only one round's can be merged)");
  require(!c.methods.empty(), "fedcl.methods", "''", "names no method");
  std::string listed;
  for (const auto& m : c.methods) listed += (listed.empty() ? "" : ",") + m;
  require(c.init != "global" || c.methods.size() == 1, "fedcl.methods", "'" + listed + "'",
          "must name one method with fedcl.init = global (every method's clients would start from its own model)");
  std::set<std::string> distinct;
  for (const auto& m : c.methods) {
    try {
      merge::make_merge_method(m);
    } catch (const ConfigError& e) {
      throw ConfigError(concat("--fedcl.methods: ", e.what()));
    }
    require(distinct.insert(m).second, "fedcl.methods", "'" + m + "'", "is listed twice");
  }
  if (distinct.count("task_specific")) {
    require(c.split == "tasks", "fedcl.split", "'" + c.split + "'",
            "must be tasks with method task_specific (it evaluates each task on the experts of that task)");
    require(c.init != "global", "fedcl.init", "'global'",
            "does not go with method task_specific (it makes one model per task, not one to start from)");
  }
  merge::validate(c.merge_settings, "fedcl.", "_");

  for (auto k : c.warmup_classes) require(k >= 0 && k < 10, "fedcl.warmup_classes", k, "is not a class in [0, 10)");
  require(c.warmup_steps >= 0, "fedcl.warmup_steps", c.warmup_steps, "must be >= 0");
  require(c.steps >= 1, "fedcl.steps", c.steps, "must be >= 1");
  while (c.save_dir.size() > 1 && c.save_dir.back() == '/') c.save_dir.pop_back();
  if (!c.save_dir.empty()) {
    struct stat st;
    require(::stat(c.save_dir.c_str(), &st) != 0 || S_ISDIR(st.st_mode), "fedcl.save_dir", "'" + c.save_dir + "'",
            "exists and is not a directory");
  }
  if (!c.base.empty()) {
    struct stat st;
    require(::stat(c.base.c_str(), &st) == 0 && S_ISREG(st.st_mode), "fedcl.base", "'" + c.base + "'",
            "is not a checkpoint file");
  }
  c.text = o.canonical_text();
  return c;
}

}  // namespace sprout::launch
