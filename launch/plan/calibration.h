// What `sprout bench calibrate` measures on a machine and `sprout plan` predicts from: a
// small JSON file.
//
//   compute      seconds per training example (forward + backward) of one model, with the
//                ranks that measured it running at once (their contention included), and
//                that model's multiply-accumulates per example: plan scales it by MACs to
//                other widths and families
//   links        α–β of a message inside a node (ping-pong between two ranks over shared
//                memory) and between nodes (measured over TCP, or given as an input)
//   collectives  measured allreduce (MPI's and the engine's ring), reduce-scatter and
//                allgather seconds per message size, at the measuring world size
//   checkpoint   write bandwidth of the checkpoint directory, all ranks writing at once
#pragma once

#include <string>
#include <vector>

#include "runtime/comm/allreduce_cost.h"
#include "runtime/json.h"

namespace sprout::launch {

struct CollectiveTiming {
  double bytes = 0;
  double mpi_allreduce_s = 0, ring_allreduce_s = 0, reduce_scatter_s = 0, allgather_s = 0;
};

struct Calibration {
  std::string host;
  int ranks = 1;  // world size of the measurement (all on one node)
  std::string arch;  // the measured model (growth::ArchSpec::serialize)
  double macs_per_example = 0;
  double seconds_per_example = 0;
  int64_t batch = 0;
  int threads = 1;  // intra-op threads per rank while measuring
  runtime::ClusterLinks links;
  std::string node_link_source, between_link_source;  // "measured ..." or "input ..."
  std::vector<CollectiveTiming> collectives;
  double checkpoint_bytes_per_s = 0;

  runtime::JsonObject to_json() const;
  // Throws ConfigError naming `path` and what is missing or malformed.
  static Calibration read(const std::string& path);
};

}  // namespace sprout::launch
