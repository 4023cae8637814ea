#include "runtime/data_parallel.h"

#include "runtime/error.h"

namespace sprout::runtime {

DataParallel::DataParallel(Communicator& comm, ParamSet& params, DataParallelOptions options)
    : comm_(comm), params_(params), options_(options) {
  SPROUT_CHECK(options_.bucket_mb > 0 && options_.first_bucket_mb > 0, ConfigError,
               "runtime.bucket_mb must be > 0, got ", options_.bucket_mb);
}

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
  layout_ = BucketLayout::build(params_.parameters(),
                                static_cast<size_t>(options_.bucket_mb * mib),
                                static_cast<size_t>(std::min(options_.first_bucket_mb, options_.bucket_mb) * mib));
  flat_.clear();
  // Buckets live with the parameters (CUDA buckets go through NCCL).
  const auto device = params_.num_parameters() ? params_.parameter(0).device() : torch::Device(torch::kCPU);
  for (const auto& b : layout_.buckets()) flat_.push_back(torch::zeros({b.numel}, torch::dtype(b.dtype).device(device)));
  grads_.assign(params_.num_parameters(), torch::Tensor());
  for (size_t bi = 0; bi < layout_.buckets().size(); ++bi) {
    for (const auto& s : layout_.buckets()[bi].slots) {
      grads_[s.param] = flat_[bi].narrow(0, s.offset, s.numel).view(params_.parameter(s.param).sizes());
    }
  }
  built_for_version_ = params_.version();
  ++rebuilds_;
}

const BucketLayout& DataParallel::layout() {
  ensure_layout();
  return layout_;
}

void DataParallel::begin_step() {
  ensure_layout();
  params_.zero_grad();
}

const std::vector<torch::Tensor>& DataParallel::finish_step() {
  ensure_layout();
  torch::NoGradGuard no_grad;
  for (size_t bi = 0; bi < layout_.buckets().size(); ++bi) {
    for (const auto& s : layout_.buckets()[bi].slots) {
      const auto& g = params_.parameter(s.param).grad();
      if (g.defined()) grads_[s.param].copy_(g);
      else grads_[s.param].zero_();
    }
    if (comm_.size() > 1) comm_.allreduce(flat_[bi], ReduceOp::Avg);
  }
  return grads_;
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
