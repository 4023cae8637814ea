// DataParallel: keeps the replicas of one model on every rank of a communicator in step.
//
// Per training step every rank calls, in order:
//   begin_step();  forward; loss.backward();  grads = finish_step();  optimizer.step(grads)
// finish_step() returns, for every parameter, the gradient averaged over ranks: views into
// flat bucket buffers (BucketLayout), each reduced by one collective (BucketReducer). A
// parameter with no gradient on a rank contributes zeros there, identically on every rank,
// so no rank ever waits for a bucket another rank skipped.
//
// Overlap (options.overlap, the default): begin_step() arms an autograd hook on every
// parameter; during backward each hook copies its gradient (already divided by the world
// size) into its bucket, and a bucket starts reducing as soon as it is full and all
// earlier buckets have started — while backward computes the remaining gradients. The
// hooks also drive MPI's progress (see runtime/comm/ring_allreduce.h for why no thread).
// Hooks outside begin_step()/finish_step() do nothing, so other backward passes (growth
// strategies measuring gradients) are not disturbed. Without overlap, finish_step() copies
// the accumulated .grad tensors into the same buckets and reduces them the same way: the
// two modes give bitwise identical results. Overlap requires one backward per step.
//
// Note [Gradient accumulation]: a step of K micro-batches runs K backward passes whose
// gradients autograd sums into .grad; only the last one reduces (one reduction per step,
// like DDP's no_sync()). Its hooks see that backward's own gradient before autograd adds
// it to .grad, so they hand the reducer grad + .grad, the complete sum: in the same order
// of additions as autograd's, hence bitwise what the non-overlapped path reduces.
//
// Surgery changes the parameter set (Note [Parameter replacement]); the engine notices the
// ParamSet version at the next begin_step(), rebuilds its buckets and moves its hooks from
// the replaced tensors to the new ones.
#pragma once

#include <torch/types.h>

#include <memory>
#include <vector>

#include "runtime/engine/bucket_layout.h"
#include "runtime/engine/bucket_reducer.h"
#include "runtime/comm/communicator.h"
#include "runtime/optim/sharding.h"
#include "runtime/param_set.h"

namespace sprout::runtime {

struct DataParallelOptions {
  double bucket_mb = 25.0;       // cap of every bucket but the first
  double first_bucket_mb = 1.0;  // cap of the first bucket (starts communication early)
  bool overlap = true;           // reduce buckets during backward (autograd hooks)
  // Reduce-scatter: finish_step() returns only this rank's pieces of the gradients
  // (optim.shard = gradients; Note [Gradient reduce-scatter] in bucket_reducer.h).
  bool scatter_gradients = false;
};

class DataParallel {
 public:
  DataParallel(Communicator& comm, ParamSet& params, DataParallelOptions options = {});
  ~DataParallel();  // removes its hooks from the parameters
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // Makes every rank's parameters and buffers bit-equal to `root`'s. Collective.
  void broadcast_state(int root = 0);
  // Collective (on the first call and after a parameter-set change). A step of
  // `micro_batches` > 1 accumulates that many backward passes (Note [Gradient accumulation]).
  void begin_step(int64_t micro_batches = 1);
  // Before each micro-batch's backward when begin_step() was given more than one: the hooks
  // stay idle until the last one, whose backward reduces the accumulated sum.
  void begin_micro_batch();
  // Collective. Throws Error if the parameter set changed since begin_step(). The averaged
  // gradients, or with scatter_gradients this rank's 1-D pieces of them, cut as
  // gradient_plan() says.
  const std::vector<torch::Tensor>& finish_step();
  // The cut of the parameters that scatter_gradients leaves each rank (for the current
  // parameter set): the optimizer's state must be cut the same way.
  ShardPlan gradient_plan();
  // Averages the floating-point buffers (batch-norm statistics) over ranks in one
  // collective, so replicas stay bitwise identical. No-op when there are none.
  void average_buffers();

  const BucketLayout& layout();
  Communicator& comm() { return comm_; }
  const DataParallelOptions& options() const { return options_; }
  // Number of bucket rebuilds so far (1 after the first step).
  int64_t rebuilds() const { return rebuilds_; }
  // Buckets whose reduction started during the last backward (before finish_step()).
  size_t buckets_started_early() const { return started_early_; }
  // Seconds the last finish_step() spent (zero-fill, remaining starts, waiting).
  double last_finish_s() const { return last_finish_s_; }
  // Bytes of the gradient buffers the engine holds now (its buckets, their scratch and,
  // reduce-scattering, the kept chunks); 0 on one rank, which uses the parameters' .grad.
  int64_t gradient_buffer_bytes() const { return reducer_.held_bytes(); }

 private:
  void ensure_layout();
  void rebuild_reducer();  // collective on first use (creates the engine's communicator)
  void install_hooks();
  void remove_hooks();
  void on_gradient(size_t param, const torch::Tensor& grad);

  Communicator& comm_;
  ParamSet& params_;
  DataParallelOptions options_;
  // The engine's own communicator (split from comm_ on first use): its point-to-point
  // ring messages can never match anybody else's.
  std::unique_ptr<Communicator> own_comm_;
  BucketLayout layout_;
  BucketReducer reducer_;
  int64_t built_for_version_ = -1;
  int64_t reducer_version_ = -1;
  int64_t rebuilds_ = 0;
  bool in_step_ = false;
  bool armed_ = false;  // hooks write into buckets (between begin_step and finish_step)
  int64_t micro_batches_ = 1;  // of the current step
  int64_t micro_batch_ = 0;    // micro-batches begun in the current step
  struct Hook {
    torch::Tensor tensor;
    unsigned handle;
  };
  std::vector<Hook> hooks_;
  std::vector<torch::Tensor> grads_;  // world size 1: the parameters' own .grad
  size_t started_early_ = 0;
  double last_finish_s_ = 0;
};

}  // namespace sprout::runtime
