#include "runtime/optim/sharding.h"

#include <algorithm>

#include "runtime/comm/communicator.h"
#include "runtime/error.h"

namespace sprout::runtime {

ShardPlan ShardPlan::shapes_of(const ParamSet& params, int world, int rank) {
  SPROUT_CHECK(world >= 1 && rank >= 0 && rank < world, Error, "shard plan: rank ", rank, " of ", world);
  ShardPlan p;
  p.world_ = world;
  p.rank_ = rank;
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    const auto& t = params.parameter(i);
    const auto& first = params.parameter(0);
    SPROUT_CHECK(t.scalar_type() == first.scalar_type() && t.device() == first.device(), ConfigError,
                 "sharded optimizer state needs every parameter in one dtype on one device; '",
                 params.parameter_name(i), "' is ", t.scalar_type(), " on ", t.device(), ", '",
                 params.parameter_name(0), "' ", first.scalar_type(), " on ", first.device());
    p.names_.push_back(params.parameter_name(i));
    p.shapes_.push_back(t.sizes().vec());
    p.total_ += t.numel();
  }
  return p;
}

ShardPlan ShardPlan::of(const ParamSet& params, int world, int rank) {
  auto p = shapes_of(params, world, rank);
  int64_t start = 0;
  for (size_t i = 0; i < p.num_params(); ++i) {
    const int64_t numel = params.parameter(i).numel();
    std::vector<Piece> pieces;
    for (int r = 0; r < world; ++r) {
      const int64_t a = std::max(start, p.total_ * r / world), b = std::min(start + numel, p.total_ * (r + 1) / world);
      pieces.push_back(b > a ? Piece{a - start, b - a} : Piece{0, 0});
    }
    p.pieces_.push_back(std::move(pieces));
    start += numel;
  }
  return p;
}

ShardPlan ShardPlan::from_pieces(const ParamSet& params, int world, int rank, std::vector<std::vector<Piece>> pieces) {
  auto p = shapes_of(params, world, rank);
  SPROUT_CHECK(pieces.size() == p.num_params(), Error, "shard plan: pieces for ", pieces.size(), " of ",
               p.num_params(), " parameters");
  for (size_t i = 0; i < pieces.size(); ++i) {
    SPROUT_CHECK(static_cast<int>(pieces[i].size()) == world, Error, "shard plan: ", pieces[i].size(),
                 " pieces of '", p.names_[i], "' for ", world, " ranks");
    auto sorted = pieces[i];
    std::sort(sorted.begin(), sorted.end());
    int64_t covered = 0;
    for (const auto& [off, len] : sorted) {
      if (len == 0) continue;
      SPROUT_CHECK(off == covered && len > 0, Error, "shard plan: the pieces of '", p.names_[i],
                   "' do not cover it exactly once");
      covered += len;
    }
    SPROUT_CHECK(covered == params.parameter(i).numel(), Error, "shard plan: the pieces of '", p.names_[i],
                 "' cover ", covered, " of its ", params.parameter(i).numel(), " elements");
  }
  p.pieces_ = std::move(pieces);
  return p;
}

int64_t ShardPlan::owned_numel(int r) const {
  int64_t n = 0;
  for (const auto& per_rank : pieces_) n += per_rank.at(r).second;
  return n;
}

bool ShardPlan::same_cut(const ShardPlan& o) const {
  return world_ == o.world_ && rank_ == o.rank_ && names_ == o.names_ && shapes_ == o.shapes_ && pieces_ == o.pieces_;
}

torch::Tensor ShardPlan::describe() const {
  std::vector<int64_t> v{world_};
  for (size_t i = 0; i < shapes_.size(); ++i) {
    int64_t n = 1;
    for (auto d : shapes_[i]) n *= d;
    v.push_back(n);
    for (const auto& [off, len] : pieces_[i]) {
      v.push_back(off);
      v.push_back(len);
    }
  }
  return torch::tensor(v, torch::kInt64);
}

namespace {

// Every parameter's flattened view and the range of it owned by rank r, in flat order.
template <typename Fn>
void for_each_piece(const ShardPlan& plan, int r, Fn fn) {
  int64_t at = 0;  // position within rank r's range
  for (size_t i = 0; i < plan.num_params(); ++i) {
    const auto [off, len] = plan.piece(i, r);
    if (len == 0) continue;
    fn(i, off, len, at);
    at += len;
  }
}

}  // namespace

void gather_parameters(Communicator& comm, const ShardPlan& plan, const ParamSet& params) {
  torch::NoGradGuard no_grad;
  if (plan.world() == 1 || plan.num_params() == 0) return;
  const auto options = params.parameter(0).options().requires_grad(false);
  for (int r = 0; r < plan.world(); ++r) {
    auto buf = torch::empty({plan.owned_numel(r)}, options);
    if (r == plan.rank()) {
      for_each_piece(plan, r, [&](size_t i, int64_t off, int64_t len, int64_t at) {
        buf.narrow(0, at, len).copy_(params.parameter(i).detach().view({-1}).narrow(0, off, len));
      });
    }
    comm.broadcast(buf, r);
    if (r == plan.rank()) continue;
    for_each_piece(plan, r, [&](size_t i, int64_t off, int64_t len, int64_t at) {
      params.parameter(i).detach().view({-1}).narrow(0, off, len).copy_(buf.narrow(0, at, len));
    });
  }
}

std::vector<torch::Tensor> gather_pieces(Communicator& comm, const ShardPlan& plan,
                                         const std::vector<torch::Tensor>& pieces, const torch::TensorOptions& options) {
  torch::NoGradGuard no_grad;
  SPROUT_CHECK(pieces.size() == plan.num_params(), Error, "gather_pieces: ", pieces.size(), " pieces for ",
               plan.num_params(), " parameters");
  std::vector<torch::Tensor> full;
  for (size_t i = 0; i < plan.num_params(); ++i) full.push_back(torch::zeros(plan.shape(i), options));
  for (int r = 0; r < plan.world(); ++r) {
    auto buf = torch::zeros({plan.owned_numel(r)}, options);
    if (r == plan.rank()) {
      for_each_piece(plan, r, [&](size_t i, int64_t, int64_t len, int64_t at) {
        if (pieces[i].defined()) buf.narrow(0, at, len).copy_(pieces[i].view({-1}));
      });
    }
    if (plan.world() > 1) comm.broadcast(buf, r);
    for_each_piece(plan, r, [&](size_t i, int64_t off, int64_t len, int64_t at) {
      full[i].view({-1}).narrow(0, off, len).copy_(buf.narrow(0, at, len));
    });
  }
  return full;
}

}  // namespace sprout::runtime
