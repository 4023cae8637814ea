// What `sprout bench calibrate` measures on a machine and `sprout plan` predicts from: a
// small JSON file.
//
//   compute      seconds per training example (forward + backward) of one model, with the
//                ranks that measured it running at once (their contention included), and
//                that model's multiply-accumulates per example: plan scales it by MACs to
//                other widths and families. Each figure twice: wall-clock, and the
//                process's CPU time (what the work costs a core, whatever else shares the
//                cores while measuring), with the node's core count
//   nodes        how the measuring ranks were grouped into nodes (MPI_COMM_TYPE_SHARED, or
//                faked blocks of K ranks): the node count and the largest node
//   links        α–β of a message inside a node (ping-pong between two ranks of rank 0's
//                node) and between nodes (ping-pong between rank 0 and a rank of another
//                node when the job spans several; on one node the built-in default or a
//                given input, its source saying which)
//   collectives  measured allreduce (MPI's, the engine's ring, its hierarchical and scattered
//                ones over those nodes), reduce-scatter and allgather seconds per message size, at the
//                measuring world size
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
  double hierarchical_allreduce_s = 0;  // 0 in files written before it was measured
  double scattered_allreduce_s = 0;     // likewise
};

struct Calibration {
  std::string host;
  int ranks = 1;  // world size of the measurement
  int nodes = 1, ranks_per_node = 1;  // node count and the largest node's ranks while measuring
  std::string node_split;  // how ranks were grouped: "MPI_COMM_TYPE_SHARED" or "blocks of K ranks"
  std::string arch;  // the measured model (growth::ArchSpec::serialize)
  double macs_per_example = 0;
  double seconds_per_example = 0;
  // One optimizer update per parameter element (0 in files written before it was measured).
  double sgd_update_s_per_element = 0, adamw_update_s_per_element = 0;
  // The same in CPU seconds of the measuring process (0 in files written before they were
  // measured), and the cores of rank 0's node (sysconf(_SC_NPROCESSORS_ONLN); 0: unknown).
  double cpu_seconds_per_example = 0, sgd_update_cpu_s_per_element = 0, adamw_update_cpu_s_per_element = 0;
  int cores = 0;
  // The data-parallel engine's own CPU work per gradient byte, on the measured model's
  // buckets (bucket_mb, as training builds them), on `ranks` ranks (0: not measured, one
  // rank, or a file written before it was measured):
  //   bucket_copy   the gradient hooks' copy of each scaled gradient into its bucket
  //   reduction     the reduction of the filled buckets (the ring: copies, additions, polling)
  double bucket_copy_cpu_s_per_byte = 0;
  double reduction_cpu_s_per_byte = 0;
  double bucket_mb = 0;  // the bucket cap they were measured at (0: a --max_bytes bucket, older files)
  // Trainer::train_step's own work beyond forward + backward + update: per (micro-)batch
  // plus per example, wall-clock and CPU (0 in files written before it was measured:
  // trainer_source then says so).
  double trainer_s_per_batch = 0, trainer_s_per_example = 0, trainer_cpu_s_per_batch = 0, trainer_cpu_s_per_example = 0;
  std::string trainer_source = "not in this calibration (written before it was measured)";
  int64_t batch = 0;
  int threads = 1;  // intra-op threads per rank while measuring
  runtime::ClusterLinks links;
  std::string node_link_source, between_link_source;  // "measured ..." or "input ..."
  std::vector<CollectiveTiming> collectives;
  double checkpoint_bytes_per_s = 0;

  runtime::JsonObject to_json() const;
  // Throws ConfigError naming `option`, `path` and what is missing or malformed (links
  // must be positive and finite: the runtime's automatic allreduce choice trusts them).
  static Calibration read(const std::string& path, const std::string& option = "--plan.calibration");
};

}  // namespace sprout::launch
