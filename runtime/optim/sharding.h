// ShardPlan: how the flat parameter space is cut among the ranks when the optimizer state
// is sharded (optim.shard = state, ZeRO stage 1).
//
// The flat space is every parameter flattened and laid end to end in registration order;
// T elements in all. Rank r of N owns the contiguous range [T·r/N, T·(r+1)/N) — slices
// differ by at most one element when N does not divide T. A parameter may be split across
// ranks; each rank's share of it (its "piece") is a contiguous range of the flattened
// parameter, possibly empty. The plan is a pure function of the parameter shapes and the
// world size, so every rank computes every other rank's pieces without communication.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/param_set.h"

namespace sprout::runtime {

class Communicator;

class ShardPlan {
 public:
  ShardPlan() = default;
  // Throws ConfigError unless the parameters share one dtype and device (one flat space).
  static ShardPlan of(const ParamSet& params, int world, int rank);

  int world() const { return world_; }
  int rank() const { return rank_; }
  int64_t total() const { return total_; }
  size_t num_params() const { return shapes_.size(); }
  const std::vector<int64_t>& shape(size_t param) const { return shapes_.at(param); }
  const std::string& name(size_t param) const { return names_.at(param); }
  // First element of rank r's range in the flat space.
  int64_t begin(int r) const { return total_ * r / world_; }
  int64_t owned_numel(int r) const { return begin(r + 1) - begin(r); }
  // Rank r's piece of parameter `param`: (offset in the flattened parameter, length ≥ 0).
  std::pair<int64_t, int64_t> piece(size_t param, int r) const;
  std::pair<int64_t, int64_t> piece(size_t param) const { return piece(param, rank_); }
  // Same parameters, shapes and world: the same cut.
  bool same_cut(const ShardPlan& other) const;
  // The cut as integers (world, then every parameter's element count): equal on every rank
  // whose replica has the same shapes (the fingerprint check compares it).
  torch::Tensor describe() const;

 private:
  int world_ = 1, rank_ = 0;
  int64_t total_ = 0;
  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> shapes_;
  std::vector<int64_t> starts_;  // flat offset of each parameter
};

// Makes every rank's copy of every parameter equal to its owner's values: rank r
// broadcasts the elements it owns (its range of the flat space), in rank order. Collective.
// One temporary of the largest rank's range.
void gather_parameters(Communicator& comm, const ShardPlan& plan, const ParamSet& params);

// The full tensors (shape of each parameter) of one sharded quantity: piece(i) of each
// parameter i is in `pieces[i]` (1-D, length piece(i).second; undefined: zeros).
// Collective: every rank returns the same full tensors.
std::vector<torch::Tensor> gather_pieces(Communicator& comm, const ShardPlan& plan,
                                         const std::vector<torch::Tensor>& pieces, const torch::TensorOptions& options);

}  // namespace sprout::runtime
