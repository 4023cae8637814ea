#include "merge/task_vectors.h"

#include <limits>

#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::merge {

namespace {

torch::Tensor to_f64(const torch::Tensor& t) { return t.detach().to(torch::kFloat64).contiguous(); }

bool all_finite(const torch::Tensor& t) { return t.numel() == 0 || t.isfinite().all().item<bool>(); }

// Element-wise fold of `x` into `acc`.
void fold(torch::Tensor& acc, const torch::Tensor& x, runtime::ReduceOp op) {
  switch (op) {
    case runtime::ReduceOp::Sum: acc.add_(x); break;
    case runtime::ReduceOp::Max: acc = at::maximum(acc, x); break;
    case runtime::ReduceOp::Min: acc = at::minimum(acc, x); break;
    case runtime::ReduceOp::Avg: throw Error("TaskVectors::reduce: Avg is not a reduction over experts");
  }
}

double neutral(runtime::ReduceOp op) {
  if (op == runtime::ReduceOp::Max) return -std::numeric_limits<double>::infinity();
  if (op == runtime::ReduceOp::Min) return std::numeric_limits<double>::infinity();
  return 0.0;
}

}  // namespace

TaskVectors::TaskVectors(const Tensors& base, const std::vector<Tensors>& experts, int64_t total,
                         runtime::Communicator* comm)
    : total_(total), comm_(comm) {
  torch::NoGradGuard no_grad;
  SPROUT_CHECK(total >= 1, ConfigError, "a merge needs at least one expert");
  SPROUT_CHECK(comm != nullptr || static_cast<int64_t>(experts.size()) == total, Error,
               "TaskVectors: ", experts.size(), " experts in memory, ", total, " announced");
  for (const auto& b : base) {
    base_.push_back(to_f64(b));
    finite_ = finite_ && all_finite(base_.back());
  }
  names_.assign(base_.size(), "");
  for (size_t e = 0; e < experts.size(); ++e) {
    SPROUT_CHECK(experts[e].size() == base.size(), ConfigError, "expert ", e, " has ", experts[e].size(),
                 " tensors, the base ", base.size());
    Tensors tau;
    for (size_t i = 0; i < base.size(); ++i) {
      const auto& x = experts[e][i];
      SPROUT_CHECK(x.sizes() == base[i].sizes(), ConfigError, "expert ", e, ": tensor ", i, " has shape ",
                   runtime::shape_string(x.sizes()), ", the base has ", runtime::shape_string(base[i].sizes()));
      auto t = to_f64(x).sub_(base_[i]);
      finite_ = finite_ && all_finite(t);
      t.masked_fill_(t == 0, 0.0);  // −0 -> +0: see the header
      tau.push_back(std::move(t));
    }
    tau_.push_back(std::move(tau));
  }
}

void TaskVectors::set_count(int64_t total) {
  SPROUT_CHECK(total >= 1, ConfigError, "a merge needs at least one expert");
  total_ = total;
}

void TaskVectors::set_names(std::vector<std::string> names) {
  SPROUT_CHECK(names.size() == base_.size(), Error, "TaskVectors::set_names: ", names.size(), " names for ",
               base_.size(), " tensors");
  names_ = std::move(names);
}

TaskVectors::Tensors TaskVectors::reduce(runtime::ReduceOp op, const Map& fn) {
  if (!fn) return reduce_indexed(op, nullptr);
  return reduce_indexed(op, [&fn](const Tensors& tau, int64_t) { return fn(tau); });
}

TaskVectors::Tensors TaskVectors::reduce_indexed(runtime::ReduceOp op, const IndexedMap& fn) {
  torch::NoGradGuard no_grad;
  SPROUT_CHECK(op != runtime::ReduceOp::Avg, Error, "TaskVectors::reduce: Avg is not a reduction over experts");
  ++reductions_;
  auto contribution = [&](const Tensors& tau, int64_t expert) {
    Tensors c = fn ? fn(tau, expert) : tau;
    for (auto& t : c) t = t.to(torch::kFloat64).contiguous();
    return c;
  };
  Tensors acc;
  for (size_t e = 0; e < tau_.size(); ++e) {
    Tensors c = contribution(tau_[e], first_expert_ + static_cast<int64_t>(e));
    if (acc.empty()) {
      for (auto& t : c) acc.push_back(t.clone());
      continue;
    }
    SPROUT_CHECK(c.size() == acc.size(), Error, "TaskVectors::reduce: contributions of different lengths");
    for (size_t i = 0; i < c.size(); ++i) fold(acc[i], c[i], op);
  }
  if (tau_.empty()) {
    // No expert here (a node group without a task this round): contribute the neutral
    // element, shaped like a contribution.
    Tensors zeros;
    for (const auto& b : base_) zeros.push_back(torch::zeros_like(b));
    for (auto& t : contribution(zeros, -1)) acc.push_back(torch::full_like(t, neutral(op)));
  }
  if (comm_ == nullptr || comm_->size() == 1) return acc;

  // One collective for all tensors.
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : acc) flat_parts.push_back(t.reshape({-1}));
  auto flat = flat_parts.empty() ? torch::empty({0}, torch::kFloat64) : torch::cat(flat_parts);
  comm_->allreduce(flat, op);
  int64_t offset = 0;
  for (auto& t : acc) {
    t = flat.narrow(0, offset, t.numel()).view(t.sizes()).clone();
    offset += t.numel();
  }
  return acc;
}

}  // namespace sprout::merge
