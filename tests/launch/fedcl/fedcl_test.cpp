// `sprout fedcl` without MPI: the deal of tasks to node groups over rounds, option
// validation, and the derived metrics of the report.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "launch/fedcl/config.h"
#include "launch/fedcl/report.h"
#include "runtime/error.h"

namespace sprout::launch {
namespace {

TEST(FedclPlan, FiveTasksOnTwoAndFiveGroups) {
  const auto p = make_fedcl_plan(5, 2, 0);
  EXPECT_EQ(p.task_classes, (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}}));
  EXPECT_EQ(p.round_tasks, (std::vector<std::vector<int>>{{0, 1}, {2, 3}, {4}}));
  EXPECT_EQ(p.task_of(0, 0), 0);
  EXPECT_EQ(p.task_of(1, 0), 1);
  EXPECT_EQ(p.task_of(0, 2), 4);
  EXPECT_EQ(p.task_of(1, 2), -1);
  EXPECT_EQ(p.seen(1), (std::vector<int>{0, 1, 2, 3}));
  const auto q = make_fedcl_plan(5, 5, 0);
  EXPECT_EQ(q.round_tasks, (std::vector<std::vector<int>>{{0, 1, 2, 3, 4}}));
  const auto uneven = make_fedcl_plan(3, 1, 0);
  EXPECT_EQ(uneven.task_classes, (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8, 9}}));
}

TEST(FedclPlan, EveryDealIsValid) {
  for (int tasks = 1; tasks <= 10; ++tasks) {
    for (int nodes = 1; nodes <= tasks; ++nodes) {
      const int min_rounds = (tasks + nodes - 1) / nodes;
      for (int rounds = min_rounds; rounds <= tasks; ++rounds) {
        const auto p = make_fedcl_plan(tasks, nodes, rounds);
        ASSERT_EQ(p.num_rounds(), rounds);
        std::vector<int> dealt;
        std::set<int64_t> classes;
        for (const auto& c : p.task_classes) {
          EXPECT_FALSE(c.empty());
          classes.insert(c.begin(), c.end());
        }
        EXPECT_EQ(classes.size(), 10u);
        for (int r = 0; r < rounds; ++r) {
          EXPECT_FALSE(p.round_tasks[r].empty()) << tasks << "/" << nodes << "/" << rounds;
          std::set<int> busy;
          for (int t : p.round_tasks[r]) {
            EXPECT_TRUE(busy.insert(p.node_of(t)).second) << "a group got two tasks in one round";
            dealt.push_back(t);
          }
        }
        std::vector<int> all(tasks);
        for (int t = 0; t < tasks; ++t) all[t] = t;
        EXPECT_EQ(dealt, all) << "every task dealt once, in order";
      }
    }
  }
}

std::string config_error(std::vector<std::string> args, int world = 4) {
  args.insert(args.begin(), {"--data.name", "synthetic"});
  try {
    read_fedcl_config(Options::parse(fedcl_option_table(), args), world);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

// The methods come from merge's registry; a method's own setting (ties' density) is an
// option of the [fedcl] section, bound to the settings every merge uses.
TEST(FedclConfig, MethodsAndTheirOptionsComeFromTheRegistry) {
  const auto c = read_fedcl_config(
      Options::parse(fedcl_option_table(), {"--data.name", "synthetic", "--fedcl.ties_density", "0.3"}), 2);
  // The default: the four published merges (the selection variants are asked for by name).
  EXPECT_EQ(c.methods, (std::vector<std::string>{"magmax", "average", "task_arithmetic", "ties"}));
  for (const auto& m : c.methods) EXPECT_NO_THROW(merge::make_merge_method(m)) << m;
  EXPECT_EQ(c.merge_settings.density, 0.3);
  EXPECT_FALSE(c.merge_settings.lambda.has_value());
  for (const auto& o : fedcl_option_table()) {
    if (o.name != "fedcl.methods") continue;
    for (const auto& m : merge::merge_method_names()) EXPECT_NE(o.help.find(m), std::string::npos) << m;
  }
  EXPECT_EQ(config_error({"--fedcl.ties_dens", "0.3"}),
            "unknown option '--fedcl.ties_dens' (did you mean --fedcl.ties_density?)");
}

TEST(FedclConfig, DefaultsAndOverrides) {
  auto c = read_fedcl_config(Options::parse(fedcl_option_table(), {"--data.name", "synthetic", "--fedcl.lambda",
                                                                     "magmax=0.7,ties=1"}),
                             2);
  EXPECT_EQ(c.nodes, 2);
  EXPECT_EQ(c.rounds, 3);
  EXPECT_EQ(c.methods, (std::vector<std::string>{"magmax", "average", "task_arithmetic", "ties"}));
  EXPECT_EQ(c.lambda, (std::map<std::string, double>{{"magmax", 0.7}, {"ties", 1.0}}));
  EXPECT_EQ(c.train.log.progress, "none");
}

TEST(FedclConfig, BadInputNamesOptionAndValue) {
  EXPECT_EQ(config_error({"--fedcl.nodes", "5"}), "--fedcl.nodes: 5 must be in [1, 4] (one rank per node group at least; the world has 4)");
  EXPECT_EQ(config_error({"--fedcl.nodes", "0"}), "--fedcl.nodes: 0 must be in [1, 4] (one rank per node group at least; the world has 4)");
  EXPECT_EQ(config_error({"--fedcl.tasks", "11"}), "--fedcl.tasks: 11 must be in [1, 10] (one class per task at least)");
  EXPECT_EQ(config_error({"--fedcl.tasks", "1", "--fedcl.nodes", "2"}),
            "--fedcl.nodes: 2 must be in [1, fedcl.tasks = 1] (with fedcl.split = tasks every node group learns a task)");
  EXPECT_NE(config_error({"--fedcl.rounds", "2"}).find("--fedcl.rounds: 2 must be in [3, 5]"), std::string::npos);
  EXPECT_NE(config_error({"--fedcl.rounds", "6"}).find("--fedcl.rounds: 6 must be in [3, 5]"), std::string::npos);
  EXPECT_EQ(config_error({"--fedcl.init", "merged"}), "--fedcl.init: 'merged' is not one of base, sequential, global");
  EXPECT_EQ(config_error({"--fedcl.methods", "magmax,fisher"}),
            "--fedcl.methods: unknown merge method 'fisher' (known: magmax, average, task_arithmetic, ties, "
            "soft_magmax, random, task_specific)");
  EXPECT_EQ(config_error({"--fedcl.methods", "ties,ties"}), "--fedcl.methods: 'ties' is listed twice");
  EXPECT_EQ(config_error({"--fedcl.lambda", "magmax"}), "--fedcl.lambda: 'magmax' is not method=value");
  EXPECT_EQ(config_error({"--fedcl.lambda", "magmax=nan"}), "--fedcl.lambda: 'magmax=nan' has no finite number after '='");
  EXPECT_EQ(config_error({"--fedcl.lambda", "magmax=inf"}), "--fedcl.lambda: 'magmax=inf' has no finite number after '='");
  EXPECT_EQ(config_error({"--fedcl.lambda", "magmax=0.5x"}), "--fedcl.lambda: 'magmax=0.5x' has no finite number after '='");
  EXPECT_EQ(config_error({"--fedcl.lambda", "average=0.3"}),
            "--fedcl.lambda: average has no lambda (it is the mean of the experts)");
  EXPECT_NE(config_error({"--fedcl.lambda", "magmix=1"}).find("unknown merge method 'magmix'"), std::string::npos);
  EXPECT_EQ(config_error({"--fedcl.ties_density", "0"}), "--fedcl.ties_density: 0 must be in (0, 1]");
  EXPECT_EQ(config_error({"--fedcl.steps", "0"}), "--fedcl.steps: 0 must be >= 1");
  EXPECT_EQ(config_error({"--fedcl.warmup_classes", "3,12"}), "--fedcl.warmup_classes: 12 is not a class in [0, 10)");
  EXPECT_EQ(config_error({"--train.batch", "0"}), "--train.batch: 0 must be > 0");
  // fedcl decides the classes and steps of its runs itself.
  EXPECT_EQ(config_error({"--data.classes", "0,1"}), "unknown option '--data.classes' (see --help)");
  EXPECT_EQ(config_error({"--data.name", "hdf5"}),
            "--data.name: 'hdf5' is not available to fedcl (its task plan has 10 classes): fashion-mnist, mnist or "
            "synthetic");
}

FedclReport two_round_report() {
  FedclReport r;
  r.task_classes = {{0, 1}, {2, 3}, {4, 5}};
  r.models = {"magmax", "joint"};
  FedclRound a{1, {0, 1}, {0, 1}, {{"magmax", {0.9, 0.8}}, {"joint", {0.95, 0.9}}}};
  FedclRound b{2, {2}, {0, 1, 2}, {{"magmax", {0.6, 0.7, 0.9}}, {"joint", {0.96, 0.85, 0.9}}}};
  b.distance = {{"magmax", 1.5}};
  r.rounds = {a, b};
  r.base_accuracy = {0.5, 0.5, 0.5};
  return r;
}

TEST(FedclReport, AverageAccuracyAndForgetting) {
  const auto r = two_round_report();
  EXPECT_DOUBLE_EQ(average_accuracy(r.rounds[0], "magmax"), 0.85);
  EXPECT_NEAR(average_accuracy(r.rounds[1], "magmax"), (0.6 + 0.7 + 0.9) / 3, 1e-12);
  // Tasks 0 and 1 were seen before the last round: (0.9−0.6 + 0.8−0.7)/2.
  EXPECT_NEAR(forgetting(r, "magmax"), 0.2, 1e-12);
  // Improvement counts as negative forgetting: (0.95−0.96 + 0.9−0.85)/2.
  EXPECT_NEAR(forgetting(r, "joint"), 0.02, 1e-12);
  EXPECT_TRUE(std::isnan(average_accuracy(r.rounds[0], "ties")));
  auto one = r;
  one.rounds.pop_back();
  EXPECT_TRUE(std::isnan(forgetting(one, "magmax")));
}

TEST(FedclReport, TableCsvAndJsonHoldEveryModelAndRound) {
  const auto r = two_round_report();
  const auto md = markdown_table(r);
  EXPECT_NE(md.find("| magmax | – | 85.0 | 73.3 | 20.0 | 1.50 |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| joint | – | 92.5 | 90.3 | 2.0 | – |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("round 2 (tasks 0–2)"), std::string::npos) << md;
  const auto csv = to_csv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * (2 + 1) + 2 * (3 + 1));
  EXPECT_NE(csv.find("magmax,2,0,0 1,0.6\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("joint,1,avg,,0.925\n"), std::string::npos) << csv;
  const auto json = runtime::JsonObject::parse(to_json(r).str());
  const auto magmax = json.object("summary").object("magmax");
  EXPECT_NEAR(magmax.number("forgetting"), 0.2, 1e-12);
  EXPECT_EQ(magmax.number("distance_from_base"), 1.5);
  const auto& rounds = json.value().at("rounds");
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[1].at("distance_from_base").dump(), R"({"magmax":1.5})");
  EXPECT_EQ(json.value().at("models").size(), r.models.size());
}

}  // namespace
}  // namespace sprout::launch
