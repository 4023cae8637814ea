// Options of the data-parallel engine that `sprout train` adds to its table (runtime.*
// options owned by runtime/engine/data_parallel.h and runtime/comm; threads and bucket size
// live in RuntimeConfig).
#pragma once

#include <string>

#include "launch/cli/option_binder.h"
#include "runtime/comm/allreduce_cost.h"
#include "runtime/comm/communicator.h"

namespace sprout::launch {

struct EngineConfig {
  bool overlap = true;  // runtime.overlap: reduce gradient buckets during backward
  // runtime.allreduce: the bucket allreduce (runtime/comm/ring_allreduce.h start_sum_allreduce)
  runtime::AllreduceAlgorithm allreduce = runtime::AllreduceAlgorithm::Auto;
  // runtime.ranks_per_node: 0 = the nodes MPI reports; K = blocks of K consecutive ranks
  // pose as nodes (several nodes measured on one machine)
  int ranks_per_node = 0;
  // runtime.calibration: a file of sprout bench calibrate; its links (inside a node, between
  // nodes) cost auto's per-bucket choice and the hierarchical leaders' algorithm instead of
  // the built-in defaults. `links` holds them once read (load_engine_calibration).
  std::string calibration;
  runtime::ClusterLinks links = runtime::default_cluster_links();
};

void bind_engine_options(OptionBinder& b, EngineConfig& c);
OptionTable engine_option_table();
// Throws ConfigError naming the option and value.
EngineConfig read_engine_config(const Options& options);
// Reads runtime.calibration's links into c.links (nothing when it is empty); a missing or
// malformed file throws ConfigError naming runtime.calibration and the path.
void load_engine_calibration(EngineConfig& c);

// Configures `comm`'s bucket allreduce from `c` (collective over `comm`). Every rank uses
// rank 0's links (broadcast), so auto picks the same algorithm per bucket everywhere even
// if the ranks read different files; with auto on several ranks rank 0 prints the choice
// once: the node grouping, the links' source and the bucket size where it switches.
void configure_engine_allreduce(runtime::Communicator& comm, const EngineConfig& c);

}  // namespace sprout::launch
