#include "launch/cli/runtime_options.h"

#include "runtime/comm/ring_allreduce.h"
#include "runtime/error.h"

namespace sprout::launch {

void bind_engine_options(OptionBinder& b, EngineConfig& c) {
  b.add("runtime.overlap", &c.overlap,
        "reduce gradient buckets while backward runs (false: after it; results are bitwise equal)");
  b.add_parsed("runtime.allreduce", "auto",
               "gradient bucket allreduce: auto | ring | hierarchical (reduce in each node, allreduce among "
               "node leaders, broadcast) | mpi (MPI's own collective); auto: the flat ring on one node, "
               "per bucket the cheaper of ring and hierarchical on several",
               [&c](const std::vector<std::string>& v) {
                 c.allreduce = runtime::parse_allreduce_algorithm(v.back(), "--runtime.allreduce");
               });
  b.add("runtime.ranks_per_node", &c.ranks_per_node,
        "ranks per node for the hierarchical allreduce: 0 = the nodes MPI reports (shared memory); K = "
        "consecutive blocks of K ranks act as nodes");
}

OptionTable engine_option_table() { return table_of(bind_engine_options); }

EngineConfig read_engine_config(const Options& o) {
  auto c = load_bound(o, bind_engine_options);
  SPROUT_CHECK(c.ranks_per_node >= 0 && c.ranks_per_node <= 65536, ConfigError, "--runtime.ranks_per_node: ",
               c.ranks_per_node, " must be in [0, 65536]");
  return c;
}

void configure_engine_allreduce(runtime::Communicator& comm, const EngineConfig& c) {
  SPROUT_CHECK(c.ranks_per_node >= 0 && c.ranks_per_node <= 65536, ConfigError, "--runtime.ranks_per_node: ",
               c.ranks_per_node, " must be in [0, 65536]");
  runtime::configure_allreduce(comm, c.allreduce, c.ranks_per_node);
}

}  // namespace sprout::launch
