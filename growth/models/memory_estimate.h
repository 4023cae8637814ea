// How much memory a model needs while it trains, from its ArchSpec alone — so that a
// configuration that cannot fit is refused with one line before anything is allocated,
// instead of a LibTorch backtrace or the kernel's OOM killer.
//
// The estimate counts float32 elements of one training rank:
//   parameters          every weight, bias and batch-norm scale/shift (model.h's ParamSet)
//   buffers             batch-norm running mean and variance
//   gradients           one per parameter
//   reduction buffer    one flat copy of the gradients (the data-parallel engine's buckets)
//   optimizer state     per parameter: SGD with momentum 1 slot, AdamW 2, plain SGD 0
//   activations         per example: the input, then every conv/linear output three times
//                       (pre-activation, activation, its gradient) and every pooled map;
//                       times the batch
// It leaves out what is small or transient (the data set, the autograd graph's bookkeeping,
// the allocator's slack), so it is a floor: a run that needs more than the machine has
// cannot succeed, and a run under it may still be tight.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "growth/models/arch.h"
#include "runtime/comm/allreduce_cost.h"

namespace sprout::growth {

// Hard limits that do not depend on the machine: no width (units or channels) above
// 2^24, and no single parameter tensor above 2^31 − 1 elements (8 GiB of float32; where
// 32-bit indexing in kernels starts to break).
constexpr int64_t kMaxSiteWidth = int64_t{1} << 24;
constexpr int64_t kMaxTensorElements = (int64_t{1} << 31) - 1;

struct MemoryEstimate {
  double parameters = 0;               // elements
  double buffers = 0;                  // elements
  double activations_per_example = 0;  // elements
  int optimizer_slots = 0;
  int64_t batch = 0;
  double bytes() const;  // float32, everything above for one rank
};

// The estimate for `arch` (completed; its widths as given) trained with `batch` examples per rank and
// an optimizer keeping `optimizer_slots` tensors per parameter.
MemoryEstimate estimate_training_memory(const ArchSpec& arch, int64_t batch, int optimizer_slots);

// Optimizer state tensors per parameter: "adamw" 2, "sgd" 1 with momentum, 0 without.
int optimizer_slots(const std::string& optimizer, double momentum);

// Throws ConfigError naming the width options and their values (the family's
// width_options) when a width or a single tensor of `arch` is above the hard limits.
void check_size_limits(const ArchSpec& arch);

// Memory this process may still use: MemAvailable of /proc/meminfo, lowered to what the
// cgroup's limit leaves (v2 memory.max, v1 memory.limit_in_bytes) when there is one,
// divided by `ranks_on_node`. `source` says where the figure came from. Infinity when
// nothing can be read (no check then).
struct AvailableMemory {
  double bytes = 0;
  std::string source;
};
AvailableMemory available_memory_per_rank(int ranks_on_node);

// check_size_limits, then refuses (ConfigError, one line naming the options and values)
// when the estimate for `reached` — `start` with the widths a growth schedule will
// reach — needs more than `available` bytes.
void check_training_memory(const ArchSpec& start, const ArchSpec& reached, int64_t batch, int optimizer_slots,
                           const AvailableMemory& available);

// Site names with their widths, in forward order — what the built model's sites() will
// list — and `arch` with some of them replaced (the family's, growth/models/family.h).
std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& arch);
// Every width group's (inner sites, then heads and residual groups), likewise.
std::vector<std::pair<std::string, int64_t>> group_widths(const ArchSpec& arch);
ArchSpec with_site_widths(ArchSpec arch, const std::map<std::string, int64_t>& widths);

// ---- Per-rank memory of data-parallel training, by kind (`sprout plan`) ----------------
// Unlike the floor above, this counts exactly the tensors the runtime allocates for the
// parameters, gradients and optimizer state of one rank between steps:
//   parameters  every parameter (float32 at either precision)
//   buffers     batch-norm running statistics
//   gradients   autograd's .grad of every parameter, plus on more than one rank the
//               engine's gradient buffers (runtime/engine/bucket_reducer.h), laid out by
//               runtime::BucketLayout from the parameter sizes:
//                 optim.shard none | state: every bucket, and the scratch its allreduce
//                   needs (runtime::bucket_scratch_numel: the ring ⌈n/N⌉, a hierarchical
//                   node leader n, scattered (s − 1) × its chunks of n/L);
//                 optim.shard gradients: this rank's reduce-scatter chunk of each bucket
//                   (buckets exist only while backward runs; not counted)
//   optimizer   slots × the elements this rank keeps state for: every parameter (none),
//               its 1/N range of the flat parameters (state), its chunks (gradients)
//               (per-element lr multipliers of some growth strategies are not counted)
//   activations the floor's per-example count × batch (float32; bf16 halves it): an
//               estimate, not a count
// (DeepSpeed's ZeRO paper counts the same three states as 2Ψ + 2Ψ + KΨ bytes in mixed
// precision; sprout keeps float32 weights, so 4Ψ + 4Ψ(+buffers) + 4·slots·Ψ/N.)
struct TrainingTensors {
  std::vector<int64_t> parameters;  // element count of every parameter, registration order
  double buffer_bytes = 0;          // all buffers
  double activations_per_example = 0;
};
// The tensors of `arch`'s model, counted on a built model (exact) when the estimate has at
// most `build_limit` parameters; above it, from the family's layer table (one tensor per
// weight-with-bias and per norm: the bucket cut, hence the scratch, is then approximate).
TrainingTensors training_tensors(const ArchSpec& arch, double build_limit = 64e6);

struct RankMemoryOptions {
  int64_t batch = 1;
  int optimizer_slots = 0;
  std::string shard = "none";  // none | state | gradients
  int world = 1, rank = 0;
  runtime::AllreduceAlgorithm allreduce = runtime::AllreduceAlgorithm::Auto;
  int ranks_per_node = 0;  // 0: every rank on one node
  runtime::ClusterLinks links = runtime::default_cluster_links();  // auto's per-bucket choice is costed on these
  double bucket_mb = 25.0, first_bucket_mb = 1.0;
  bool bf16 = false;
};

struct RankMemory {  // bytes
  double parameters = 0, buffers = 0, gradients = 0, optimizer_state = 0, activations = 0;
  double total() const { return parameters + buffers + gradients + optimizer_state + activations; }
};

RankMemory rank_memory(const TrainingTensors& tensors, const RankMemoryOptions& options);

}  // namespace sprout::growth
