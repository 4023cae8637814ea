// Options of the data-parallel engine that `sprout train` adds to its table (runtime.*
// options owned by runtime/engine/data_parallel.h and runtime/comm; threads and bucket size
// live in RuntimeConfig).
#pragma once

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
};

void bind_engine_options(OptionBinder& b, EngineConfig& c);
OptionTable engine_option_table();
// Throws ConfigError naming the option and value.
EngineConfig read_engine_config(const Options& options);

// Configures `comm`'s bucket allreduce from `c` (collective over `comm`).
void configure_engine_allreduce(runtime::Communicator& comm, const EngineConfig& c);

}  // namespace sprout::launch
