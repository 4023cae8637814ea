#include "launch/cli/runtime_options.h"

#include <cstdio>

#include "launch/plan/calibration.h"
#include "runtime/comm/hierarchical_allreduce.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/error.h"

namespace sprout::launch {

void bind_engine_options(OptionBinder& b, EngineConfig& c) {
  b.add("runtime.overlap", &c.overlap,
        "reduce gradient buckets while backward runs (false: after it; results are bitwise equal)");
  b.add_parsed("runtime.allreduce", "auto",
               "gradient bucket allreduce: auto | ring | hierarchical (reduce in each node, allreduce among "
               "node leaders, broadcast) | scattered (reduce-scatter in each node, allreduce of each chunk "
               "among nodes, allgather) | mpi (MPI's own collective); auto: the flat ring on one node, per "
               "bucket the cheapest of ring, hierarchical and scattered on several (costed on "
               "runtime.calibration)",
               [&c](const std::vector<std::string>& v) {
                 c.allreduce = runtime::parse_allreduce_algorithm(v.back(), "--runtime.allreduce");
               });
  b.add("runtime.ranks_per_node", &c.ranks_per_node,
        "ranks per node for the hierarchical and scattered allreduces: 0 = the nodes MPI reports (shared memory); K = "
        "consecutive blocks of K ranks act as nodes");
  b.add("runtime.calibration", &c.calibration,
        "calibration file of sprout bench calibrate: runtime.allreduce=auto costs ring, hierarchical and "
        "scattered per bucket on its links (empty: built-in 1 us + 5 GB/s inside a node, 20 us + 1.25 GB/s between)");
}

OptionTable engine_option_table() { return table_of(bind_engine_options); }

EngineConfig read_engine_config(const Options& o) {
  auto c = load_bound(o, bind_engine_options);
  SPROUT_CHECK(c.ranks_per_node >= 0 && c.ranks_per_node <= 65536, ConfigError, "--runtime.ranks_per_node: ",
               c.ranks_per_node, " must be in [0, 65536]");
  load_engine_calibration(c);
  return c;
}

void load_engine_calibration(EngineConfig& c) {
  if (!c.calibration.empty()) c.links = Calibration::read(c.calibration, "--runtime.calibration").links;
}

namespace {

// auto's rule in one line: which algorithm takes which bucket sizes.
void print_auto_choice(const runtime::MpiCommunicator& mpi, const EngineConfig& c) {
  const runtime::NodeGroups& g = *mpi.node_groups();
  const auto& l = mpi.allreduce_links();
  const std::string source = c.calibration.empty() ? "built-in links" : concat("links of ", c.calibration);
  std::string rule;
  if (g.node_count() <= 1 || g.max_node_size() <= 1) {
    rule = "the flat ring for every bucket (no node has a second rank, or one node)";
  } else {
    rule = runtime::describe_auto_segments(runtime::auto_segments(g.node_count(), g.max_node_size(), l));
  }
  std::printf("runtime.allreduce=auto: %d node%s of up to %d ranks, %s (between nodes %.2f us + %.3g GB/s): %s\n",
              g.node_count(), g.node_count() == 1 ? "" : "s", g.max_node_size(), source.c_str(),
              l.between.alpha_s * 1e6, 1e-9 / l.between.beta_s_per_byte, rule.c_str());
  std::fflush(stdout);
}

}  // namespace

void configure_engine_allreduce(runtime::Communicator& comm, const EngineConfig& c) {
  SPROUT_CHECK(c.ranks_per_node >= 0 && c.ranks_per_node <= 65536, ConfigError, "--runtime.ranks_per_node: ",
               c.ranks_per_node, " must be in [0, 65536]");
  runtime::ClusterLinks links = c.links;
  const auto* mpi = dynamic_cast<const runtime::MpiCommunicator*>(&comm);
  if (mpi != nullptr && comm.size() > 1) {  // rank 0's links everywhere: the per-bucket choice decides the sum order
    auto t = torch::tensor({links.node.alpha_s, links.node.beta_s_per_byte, links.between.alpha_s,
                            links.between.beta_s_per_byte}, torch::kFloat64);
    comm.broadcast(t, 0);
    const auto* v = t.data_ptr<double>();
    links = {{v[0], v[1]}, {v[2], v[3]}};
  }
  runtime::configure_allreduce(comm, c.allreduce, c.ranks_per_node, links);
  // Said when it can differ from the flat ring: several nodes, or a calibration given.
  if (mpi != nullptr && c.allreduce == runtime::AllreduceAlgorithm::Auto && comm.size() > 1 && comm.rank() == 0 &&
      (mpi->node_groups()->node_count() > 1 || !c.calibration.empty())) {
    print_auto_choice(*mpi, c);
  }
}

}  // namespace sprout::launch
