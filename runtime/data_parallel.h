// DataParallel: keeps the replicas of one model on every rank of a communicator in step.
//
// Per training step every rank calls, in order:
//   begin_step();  forward; loss.backward();  grads = finish_step();  optimizer.step(grads)
// finish_step() returns, for every parameter, the gradient averaged over ranks: views into
// flat bucket buffers (BucketLayout), each reduced by one collective. A parameter with no
// gradient on a rank contributes zeros there, identically on every rank, so no rank ever
// waits for a bucket another rank skipped.
//
// Surgery changes the parameter set (Note [Parameter replacement]); the engine notices the
// ParamSet version and rebuilds its buckets at the next begin_step()/finish_step().
#pragma once

#include <torch/types.h>

#include <vector>

#include "runtime/bucket_layout.h"
#include "runtime/communicator.h"
#include "runtime/param_set.h"

namespace sprout::runtime {

struct DataParallelOptions {
  double bucket_mb = 25.0;       // cap of every bucket but the first
  double first_bucket_mb = 1.0;  // cap of the first bucket (starts communication early)
};

class DataParallel {
 public:
  DataParallel(Communicator& comm, ParamSet& params, DataParallelOptions options = {});

  // Makes every rank's parameters and buffers bit-equal to `root`'s. Collective.
  void broadcast_state(int root = 0);
  void begin_step();
  const std::vector<torch::Tensor>& finish_step();
  // Averages the floating-point buffers (batch-norm statistics) over ranks in one
  // collective, so replicas stay bitwise identical. No-op when there are none.
  void average_buffers();

  const BucketLayout& layout();
  Communicator& comm() { return comm_; }
  // Number of bucket rebuilds so far (1 after the first step).
  int64_t rebuilds() const { return rebuilds_; }

 private:
  void ensure_layout();

  Communicator& comm_;
  ParamSet& params_;
  DataParallelOptions options_;
  BucketLayout layout_;
  int64_t built_for_version_ = -1;
  int64_t rebuilds_ = 0;
  std::vector<torch::Tensor> flat_;   // one buffer per bucket
  std::vector<torch::Tensor> grads_;  // per parameter: view into its bucket
};

}  // namespace sprout::runtime
