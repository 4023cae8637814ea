// BucketReducer: the flat gradient buffers of one BucketLayout, and their reduction —
// one sum-allreduce per bucket, started strictly in bucket order as buckets fill.
//
// Per step (all ranks):
//   begin();  add(param, grad) for the gradients this rank has, in any order;  finish()
// add() writes scale·grad straight into the parameter's slot of its bucket (one pass: the
// 1/world averaging is folded into that copy, so the collective is a plain sum and no
// division pass follows). When a bucket's last slot arrives and every earlier bucket has
// started, it starts too (and so may the complete buckets after it). finish() zero-fills
// the slots that got no gradient on this rank, starts the remaining buckets in order and
// waits for all. Every rank therefore starts the same collectives in the same order —
// bucket 0, 1, 2, … — whichever gradients it had and whenever they arrived: a missing
// gradient contributes zeros, never a hang.
//
// Note [Waiting without spinning]: Open MPI's blocking waits spin on the core. When ranks
// share cores with other work (4 ranks on 2 cores, a busy node), a spinning rank burns the
// time slice its peer needs to catch up, and the CPU time it burns counts against it with
// the scheduler, so its next compute phase gets preempted more (gloo, blocking in the
// kernel, has neither problem). finish() therefore polls MPI_Test, spinning while the
// transfer moves (a bucket finished or a ring round completed within the last 500 µs) and
// otherwise — a peer that has not arrived — sleeping 50 µs between polls (timer slack
// lowered to 5 µs): a few µs of CPU per poll and at most ~55 µs of extra latency. A poll loop cannot be stuck inside MPI, so it enforces the
// communicator's timeout itself (CommError naming the phase) instead of registering with
// the watchdog; before it throws it cancels the unfinished buckets (Work::cancel: NCCL
// aborts its communicator), so that the job ends after one timeout, not one per bucket.
//
// grads()[i] is parameter i's averaged gradient: a view into its bucket, valid until the
// next begin().
//
// Note [Gradient reduce-scatter]: with optim.shard = gradients (ZeRO stage 2) every bucket
// is reduced with the first half of the ring only, after which this rank holds the sum of one
// chunk of it — bitwise what the whole allreduce would have left there. That chunk is
// copied into a buffer of its own and the bucket's buffer is freed, so between steps a rank
// keeps 1/N of the reduced gradients and no bucket buffers; during backward only the
// buckets in flight exist. grads() are then this rank's pieces of the parameters' gradients
// (the cut described by kept_range(); the optimizer updates exactly those elements).
#pragma once

#include <torch/types.h>

#include <memory>
#include <vector>

#include "runtime/engine/bucket_layout.h"
#include "runtime/comm/communicator.h"

namespace sprout::runtime {

class BucketReducer {
 public:
  BucketReducer() = default;
  // Allocates one buffer per bucket of `layout` on `device` (the parameters' device);
  // param_shapes[i] shapes grads()[i]. `comm` must outlive the reducer.
  // scatter (Note [Gradient reduce-scatter]): each rank keeps only its chunk of every
  // reduced bucket; grads()[i] is then this rank's 1-D piece of gradient i.
  BucketReducer(Communicator& comm, BucketLayout layout, const std::vector<std::vector<int64_t>>& param_shapes,
                double scale, torch::Device device = torch::kCPU, bool scatter = false);

  // The part of bucket `bucket` that rank `rank` of `world` keeps in scatter mode:
  // [first, second) of the bucket's elements (the ring's reduce-scatter chunk).
  static std::pair<int64_t, int64_t> kept_range(int64_t bucket_numel, int rank, int world);

  void begin();
  // Writes scale·grad into the slot of `param`. Throws Error when `param` already has a
  // gradient this step (its bucket may be on the wire) or the shape is wrong.
  void add(size_t param, const torch::Tensor& grad);
  // Gives MPI a chance to move in-flight buckets (cheap; called from gradient hooks).
  void progress();
  // Zero-fills, starts what is left, waits for every bucket. Collective.
  void finish();
  // Starts every bucket whose contents were written directly into buffers() and waits:
  // the engine's reduction without the gradient copy (benchmarks). Collective.
  void reduce_buffers();

  const std::vector<torch::Tensor>& grads() const { return grads_; }
  const std::vector<torch::Tensor>& buffers() const { return flat_; }
  const BucketLayout& layout() const { return layout_; }
  // Buckets started so far this step.
  size_t started() const { return next_; }
  // Bytes of the tensors the reducer holds now: bucket buffers, scratch, kept chunks.
  int64_t held_bytes() const;

 private:
  torch::Tensor slot_view(size_t param);  // the gradient's place in its bucket (allocated on demand)
  void harvest(size_t bucket);  // scatter: keep this rank's chunk of a reduced bucket, free the rest
  void start_ready();   // starts buckets next_.. while complete

  void start(size_t bucket);
  // Waits for every started bucket; see Note [Waiting without spinning].
  void wait_all();

  Communicator* comm_ = nullptr;
  BucketLayout layout_;
  double scale_ = 1.0;
  std::vector<torch::Tensor> flat_;     // per bucket: (numel)
  std::vector<torch::Tensor> scratch_;  // per bucket: ring scratch (may be undefined)
  std::vector<torch::Tensor> grads_;    // per parameter: view into its bucket
  std::vector<char> ready_;             // per parameter: has its gradient this step
  std::vector<int64_t> missing_;        // per bucket: slots still without gradient
  std::vector<std::shared_ptr<Work>> work_;  // per bucket: in flight or done this step
  size_t next_ = 0;                     // first bucket not started this step
  torch::Tensor scale_tensor_;          // 0-dim, for the fused scaled copy
  bool scatter_ = false;
  torch::Device device_ = torch::kCPU;
  std::vector<std::vector<int64_t>> shapes_;  // per parameter
  std::vector<torch::Tensor> kept_;     // scatter, per bucket: this rank's reduced chunk
};

}  // namespace sprout::runtime
