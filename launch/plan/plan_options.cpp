#include "launch/plan/plan_options.h"

#include <utility>

#include "runtime/error.h"

namespace sprout::launch {

void bind_plan_options(OptionBinder& b, PlanOptions& c) {
  b.add("plan.calibration", &c.calibration, "calibration file written by sprout bench calibrate (required)");
  b.add("plan.ranks_per_node", &c.ranks_per_node, "ranks per node of the planned cluster");
  b.add("plan.max_ranks", &c.max_ranks, "plan for N = 1, 2, 4, ... below this many ranks, and this many");
  b.add("plan.memory_gb", &c.memory_gb,
        "memory per rank in GB (0: this machine's available memory divided by plan.ranks_per_node)");
  b.add("plan.cores_per_node", &c.cores_per_node,
        "cores of each planned node, shared by its ranks (0: those of the calibration's node); compute is CPU time over "
        "each rank's share");
  b.add("plan.between_alpha_us", &c.between_alpha_us,
        "latency between nodes in us, overriding the calibration's (0: the calibration's)");
  b.add("plan.between_gbps", &c.between_gbps,
        "bandwidth between nodes in Gbit/s, overriding the calibration's (0: the calibration's)");
  b.add("plan.out", &c.out, "prefix of the CSV and PNG the plan writes (PREFIX.csv, PREFIX.png; empty: none)");
}

OptionTable plan_option_table() {
  auto table = train_option_table();
  const auto own = table_of(bind_plan_options);
  table.insert(table.end(), own.begin(), own.end());
  return table;
}

PlanConfig read_plan_config(const Options& o) {
  PlanConfig c;
  c.train = read_train_config(o);
  c.plan = load_bound(o, bind_plan_options);
  const auto& p = c.plan;
  SPROUT_CHECK(!p.calibration.empty(), ConfigError,
               "--plan.calibration: required (write one with: mpirun -np R sprout bench calibrate --out FILE)");
  SPROUT_CHECK(p.ranks_per_node >= 1 && p.ranks_per_node <= 4096, ConfigError, "--plan.ranks_per_node: ",
               p.ranks_per_node, " must be in [1, 4096]");
  SPROUT_CHECK(p.max_ranks >= 1 && p.max_ranks <= 65536, ConfigError, "--plan.max_ranks: ", p.max_ranks,
               " must be in [1, 65536]");
  SPROUT_CHECK(p.memory_gb >= 0 && p.memory_gb < 1e6, ConfigError, "--plan.memory_gb: ", p.memory_gb,
               " must be in [0, 1e6) (0: this machine's)");
  SPROUT_CHECK(p.cores_per_node >= 0 && p.cores_per_node <= 65536, ConfigError, "--plan.cores_per_node: ",
               p.cores_per_node, " must be in [0, 65536] (0: the calibration's)");
  for (const auto& [key, v] : {std::pair{"plan.between_alpha_us", p.between_alpha_us},
                                std::pair{"plan.between_gbps", p.between_gbps}}) {
    SPROUT_CHECK(v >= 0 && v < 1e9, ConfigError, "--", key, ": ", v, " must be in [0, 1e9) (0: the calibration's)");
  }
  return c;
}

}  // namespace sprout::launch
