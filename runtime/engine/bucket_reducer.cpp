#include "runtime/engine/bucket_reducer.h"

#include <sys/prctl.h>

#include <chrono>
#include <thread>

#include "runtime/error.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/engine/polling.h"

namespace sprout::runtime {

namespace {
// MPI guarantees tags up to 32767; buckets in flight at once get distinct ones.
constexpr size_t kTagSpace = 32767;
}  // namespace

BucketReducer::BucketReducer(Communicator& comm, BucketLayout layout,
                             const std::vector<std::vector<int64_t>>& param_shapes, double scale,
                             torch::Device device, bool scatter)
    : comm_(&comm), layout_(std::move(layout)), scale_(scale), scatter_(scatter), device_(device),
      shapes_(param_shapes) {
  SPROUT_CHECK(param_shapes.size() == layout_.num_params(), Error, "bucket reducer: ", param_shapes.size(),
               " shapes for a layout of ", layout_.num_params(), " parameters");
  const auto& buckets = layout_.buckets();
  grads_.assign(param_shapes.size(), torch::Tensor());
  for (const auto& b : buckets) {
    const auto options = torch::dtype(b.dtype).device(device);
    if (scatter_) {
      // Buffers come and go with each step; only this rank's chunk stays.
      flat_.emplace_back();
      scratch_.emplace_back();
      const auto [lo, hi] = kept_range(b.numel, comm.rank(), comm.size());
      kept_.push_back(torch::empty({hi - lo}, options));
      for (const auto& slot : b.slots) {
        const int64_t from = std::max(slot.offset, lo), to = std::min(slot.offset + slot.numel, hi);
        grads_[slot.param] = kept_.back().narrow(0, to > from ? from - lo : 0, std::max<int64_t>(to - from, 0));
      }
      continue;
    }
    // Every slot is overwritten each step (gradient or zero-fill): no need to clear.
    flat_.push_back(torch::empty({b.numel}, options));
    const int64_t s = ring_scratch_numel(comm, b.numel, flat_.back().element_size());
    scratch_.push_back(s > 0 ? torch::empty({s}, options) : torch::Tensor());
    for (const auto& slot : b.slots) {
      grads_[slot.param] = flat_.back().narrow(0, slot.offset, slot.numel).view(param_shapes[slot.param]);
    }
  }
  ready_.assign(param_shapes.size(), 0);
  missing_.assign(buckets.size(), 0);
  work_.assign(buckets.size(), nullptr);
  scale_tensor_ = torch::scalar_tensor(scale_, torch::kFloat64);
}

std::pair<int64_t, int64_t> BucketReducer::kept_range(int64_t bucket_numel, int rank, int world) {
  const int c = ring_owned_chunk(rank, world);
  return {ring_chunk_begin(bucket_numel, world, c), ring_chunk_begin(bucket_numel, world, c + 1)};
}

torch::Tensor BucketReducer::slot_view(size_t param) {
  if (!scatter_) return grads_[param];
  const auto [b, k] = layout_.locate(param);
  const auto& bucket = layout_.buckets()[b];
  if (!flat_[b].defined()) flat_[b] = torch::empty({bucket.numel}, torch::dtype(bucket.dtype).device(device_));
  const auto& slot = bucket.slots[k];
  return flat_[b].narrow(0, slot.offset, slot.numel).view(shapes_[param]);
}

void BucketReducer::harvest(size_t bucket) {
  if (!scatter_ || !work_[bucket]) return;
  const auto [lo, hi] = kept_range(flat_[bucket].numel(), comm_->rank(), comm_->size());
  kept_[bucket].copy_(flat_[bucket].narrow(0, lo, hi - lo));
  work_[bucket].reset();  // the operation holds the buffer too
  flat_[bucket] = torch::Tensor();
}

int64_t BucketReducer::held_bytes() const {
  int64_t bytes = 0;
  for (const auto* list : {&flat_, &scratch_, &kept_}) {
    for (const auto& t : *list) {
      if (t.defined()) bytes += t.numel() * static_cast<int64_t>(t.element_size());
    }
  }
  return bytes;
}

void BucketReducer::begin() {
  std::fill(ready_.begin(), ready_.end(), 0);
  for (size_t b = 0; b < missing_.size(); ++b) {
    missing_[b] = static_cast<int64_t>(layout_.buckets()[b].slots.size());
    work_[b].reset();
  }
  next_ = 0;
}

void BucketReducer::add(size_t param, const torch::Tensor& grad) {
  SPROUT_CHECK(param < grads_.size(), Error, "bucket reducer: no parameter ", param);
  SPROUT_CHECK(!ready_[param], Error, "parameter ", param,
               " received a second gradient in one step; with overlap on, call backward once "
               "between begin_step() and finish_step()");
  auto view = slot_view(param);
  SPROUT_CHECK(grad.sizes() == view.sizes(), Error, "bucket reducer: gradient of shape ", grad.sizes(),
               " for parameter ", param, " of shape ", view.sizes());
  torch::NoGradGuard no_grad;
  if (scale_ == 1.0) view.copy_(grad);
  else at::mul_out(view, grad, scale_tensor_);  // one pass: copy and 1/world
  ready_[param] = 1;
  const size_t b = layout_.locate(param).first;
  if (--missing_[b] == 0 && b == next_) start_ready();
  progress();
}

void BucketReducer::start_ready() {
  while (next_ < missing_.size() && missing_[next_] == 0) start(next_++);
}

void BucketReducer::start(size_t bucket) {
  work_[bucket] = start_sum_allreduce(*comm_, flat_[bucket], scratch_[bucket],
                                      static_cast<int>(bucket % kTagSpace), /*reduce_scatter_only=*/scatter_);
}

void BucketReducer::progress() {
  for (size_t b = 0; b < next_; ++b) {
    if (work_[b] && work_[b]->test()) harvest(b);
  }
}

void BucketReducer::finish() {
  torch::NoGradGuard no_grad;
  for (size_t b = next_; b < missing_.size(); ++b) {
    if (missing_[b] > 0) {
      for (const auto& slot : layout_.buckets()[b].slots) {
        if (!ready_[slot.param]) slot_view(slot.param).zero_();
      }
      missing_[b] = 0;
    }
  }
  start_ready();
  wait_all();
}

void BucketReducer::reduce_buffers() {
  SPROUT_CHECK(!scatter_, Error, "bucket reducer: reduce_buffers() reduces whole buckets (not in scatter mode)");
  for (size_t b = 0; b < missing_.size(); ++b) missing_[b] = 0;
  next_ = 0;
  start_ready();
  wait_all();
}

void BucketReducer::wait_all() {
  using clock = std::chrono::steady_clock;
  auto last_progress = clock::now();
  const auto t0 = last_progress;
  int64_t marker = -1;
  // Sleeps of 50 µs mean 50 µs, not the default 50 µs + 50 µs of timer slack.
  prctl(PR_SET_TIMERSLACK, kWaitTimerSlackNs, 0, 0, 0);
  for (;;) {
    bool all = true;
    int64_t now_marker = 0;  // grows whenever a bucket finishes or a ring round completes
    for (size_t b = 0; b < work_.size(); ++b) {
      auto& w = work_[b];
      if (!w) {
        now_marker += 1 << 20;  // harvested (scatter mode)
        continue;
      }
      const bool done = w->test();
      all = all && done;
      const auto* ring = dynamic_cast<const RingAllreduce*>(w.get());
      now_marker += done ? 1 << 20 : (ring ? ring->rounds_done() : 0);
      if (done) harvest(b);
    }
    if (all) return;
    const auto now = clock::now();
    if (now_marker != marker) {
      marker = now_marker;
      last_progress = now;
    }
    const double waited = std::chrono::duration<double>(now - t0).count();
    if (comm_->timeout() > 0 && waited > comm_->timeout()) {
      // Give up on the unfinished buckets now (NCCL aborts its communicator): otherwise each
      // one's destructor would wait a full timeout again while its kernels keep spinning.
      for (auto& w : work_) {
        if (w) w->cancel();  // nothing for the finished ones
      }
      throw CommError(concat("timed out after ", static_cast<int>(comm_->timeout()),
                             " s waiting in allreduce of gradient buckets (", comm_->phase(),
                             "); a peer rank is gone or stuck"));
    }
    if (std::chrono::duration<double>(now - last_progress).count() > kWaitSpinSeconds) {
      std::this_thread::sleep_for(std::chrono::duration<double>(kWaitSleepSeconds));
    }
  }
}

}  // namespace sprout::runtime
