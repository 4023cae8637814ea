#include "runtime/engine/data_parallel.h"

#include <chrono>

#include "runtime/error.h"

namespace sprout::runtime {

DataParallel::DataParallel(Communicator& comm, ParamSet& params, DataParallelOptions options)
    : comm_(comm), params_(params), options_(options) {
  SPROUT_CHECK(options_.bucket_mb > 0 && options_.first_bucket_mb > 0, ConfigError,
               "data-parallel engine: bucket_mb must be > 0, got ", options_.bucket_mb);
}

DataParallel::~DataParallel() { remove_hooks(); }

void DataParallel::broadcast_state(int root) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params_.parameters()) {
    auto t = p.detach();
    comm_.broadcast(t, root);
  }
  for (const auto& b : params_.buffers()) {
    auto t = b;
    comm_.broadcast(t, root);
  }
}

void DataParallel::ensure_layout() {
  if (built_for_version_ == params_.version()) return;
  const double mib = 1024.0 * 1024.0;
  layout_ = BucketLayout::build(params_.parameters(), static_cast<size_t>(options_.bucket_mb * mib),
                                static_cast<size_t>(std::min(options_.first_bucket_mb, options_.bucket_mb) * mib));
  built_for_version_ = params_.version();
  ++rebuilds_;
}

const BucketLayout& DataParallel::layout() {
  ensure_layout();
  return layout_;
}

void DataParallel::rebuild_reducer() {
  ensure_layout();
  if (reducer_version_ == params_.version()) return;
  remove_hooks();
  if (!own_comm_) own_comm_ = comm_.split(0, comm_.rank());
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& p : params_.parameters()) shapes.push_back(p.sizes().vec());
  const auto device = params_.num_parameters() > 0 ? params_.parameter(0).device() : torch::Device(torch::kCPU);
  reducer_ = BucketReducer(*own_comm_, layout_, shapes, 1.0 / comm_.size(), device, options_.scatter_gradients);
  if (options_.overlap) install_hooks();
  reducer_version_ = params_.version();
}

void DataParallel::install_hooks() {
  for (size_t i = 0; i < params_.num_parameters(); ++i) {
    const auto& p = params_.parameter(i);
    const unsigned handle = p.register_hook([this, i](const torch::Tensor& grad) { on_gradient(i, grad); });
    hooks_.push_back(Hook{p, handle});
  }
}

void DataParallel::remove_hooks() {
  for (auto& h : hooks_) h.tensor.remove_hook(h.handle);
  hooks_.clear();
}

void DataParallel::on_gradient(size_t param, const torch::Tensor& grad) {
  // For a leaf, autograd sums every use's gradient before this hook runs: it fires once
  // per backward with the parameter's complete gradient.
  if (!armed_) return;
  const auto& accumulated = params_.parameter(param).grad();  // earlier micro-batches' sum
  if (micro_batches_ > 1 && accumulated.defined()) reducer_.add(param, accumulated + grad);
  else reducer_.add(param, grad);
}

void DataParallel::begin_step(int64_t micro_batches) {
  SPROUT_CHECK(!in_step_, Error, "data-parallel: begin_step() twice without finish_step()");
  SPROUT_CHECK(micro_batches >= 1, Error, "data-parallel: ", micro_batches, " micro-batches per step");
  micro_batches_ = micro_batches;
  micro_batch_ = 0;
  params_.zero_grad();
  grads_.clear();  // free last step's gradients before backward allocates new ones
  ensure_layout();
  if (comm_.size() > 1) {
    rebuild_reducer();
    own_comm_->set_phase(comm_.phase());
    own_comm_->set_timeout(comm_.timeout());
    reducer_.begin();
    armed_ = options_.overlap && micro_batches_ == 1;
  }
  in_step_ = true;
}

void DataParallel::begin_micro_batch() {
  SPROUT_CHECK(in_step_, Error, "data-parallel: begin_micro_batch() outside a step");
  SPROUT_CHECK(micro_batch_ < micro_batches_, Error, "data-parallel: micro-batch ", micro_batch_ + 1, " of a step of ",
               micro_batches_);
  ++micro_batch_;
  armed_ = options_.overlap && comm_.size() > 1 && micro_batch_ == micro_batches_;
}

const std::vector<torch::Tensor>& DataParallel::finish_step() {
  SPROUT_CHECK(in_step_, Error, "data-parallel: finish_step() without begin_step()");
  SPROUT_CHECK(micro_batches_ == 1 || micro_batch_ == micro_batches_, Error, "data-parallel: finish_step() after ",
               micro_batch_, " of ", micro_batches_, " micro-batches");
  in_step_ = false;
  armed_ = false;
  SPROUT_CHECK(built_for_version_ == params_.version(), Error,
               "data-parallel: the parameter set changed between begin_step() and finish_step()");
  const auto t0 = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  if (comm_.size() == 1) {
    grads_.resize(params_.num_parameters());
    for (size_t i = 0; i < grads_.size(); ++i) {
      const auto& g = params_.parameter(i).grad();
      grads_[i] = g.defined() ? g : torch::zeros_like(params_.parameter(i).detach());
      if (options_.scatter_gradients) grads_[i] = grads_[i].reshape({-1});  // one rank: the piece is all of it
    }
    last_finish_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return grads_;
  }
  started_early_ = reducer_.started();
  if (!options_.overlap) {
    // Bucket order, so each bucket starts as soon as its copies are done.
    for (const auto& bucket : layout_.buckets()) {
      for (const auto& slot : bucket.slots) {
        const auto& g = params_.parameter(slot.param).grad();
        if (g.defined()) reducer_.add(slot.param, g);
      }
    }
  }
  reducer_.finish();
  last_finish_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return reducer_.grads();
}

ShardPlan DataParallel::gradient_plan() {
  ensure_layout();
  const int n = comm_.size();
  std::vector<std::vector<ShardPlan::Piece>> pieces(params_.num_parameters(), std::vector<ShardPlan::Piece>(n));
  for (const auto& bucket : layout_.buckets()) {
    for (int r = 0; r < n; ++r) {
      const auto [lo, hi] = BucketReducer::kept_range(bucket.numel, r, n);
      for (const auto& slot : bucket.slots) {
        const int64_t from = std::max(slot.offset, lo), to = std::min(slot.offset + slot.numel, hi);
        pieces[slot.param][r] = to > from ? ShardPlan::Piece{from - slot.offset, to - from} : ShardPlan::Piece{0, 0};
      }
    }
  }
  return ShardPlan::from_pieces(params_, n, comm_.rank(), std::move(pieces));
}

void DataParallel::average_buffers() {
  if (comm_.size() == 1) return;
  std::vector<torch::Tensor> floats;
  for (const auto& b : params_.buffers()) {
    if (b.is_floating_point()) floats.push_back(b);
  }
  if (floats.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat_views;
  for (const auto& b : floats) flat_views.push_back(b.view({-1}).to(torch::kFloat64));
  auto flat = torch::cat(flat_views);
  comm_.allreduce(flat, ReduceOp::Avg);
  int64_t off = 0;
  for (auto& b : floats) {
    b.copy_(flat.narrow(0, off, b.numel()).view(b.sizes()));
    off += b.numel();
  }
}

}  // namespace sprout::runtime
