// ShardPlan: how the flat parameter space is cut among the ranks when the optimizer state
// is sharded (optim.shard = state | gradients, ZeRO stages 1 and 2).
//
// Every parameter is cut into at most one contiguous piece per rank (offset and length in
// the flattened parameter, possibly empty); the pieces of all ranks cover it exactly once.
// of(): the flat space — every parameter flattened and laid end to end in registration
// order, T elements — is cut into N contiguous ranges [T·r/N, T·(r+1)/N) (stage 1; ranges
// differ by at most one element). from_pieces(): any such cut, e.g. the one in which the
// gradient reduce-scatter leaves each rank its part of every bucket (stage 2,
// runtime/engine/data_parallel.h). A plan is a pure function of the parameter shapes and
// the world size (and the bucket layout), so every rank knows every other rank's pieces
// without communication.
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
  using Piece = std::pair<int64_t, int64_t>;  // (offset in the flattened parameter, length)

  ShardPlan() = default;
  // The contiguous cut. Throws ConfigError unless the parameters share one dtype and device.
  static ShardPlan of(const ParamSet& params, int world, int rank);
  // pieces[param][r]: rank r's piece of each parameter. Throws Error unless they cover every
  // parameter exactly once, in order of rank-independent disjoint ranges.
  static ShardPlan from_pieces(const ParamSet& params, int world, int rank, std::vector<std::vector<Piece>> pieces);

  int world() const { return world_; }
  int rank() const { return rank_; }
  int64_t total() const { return total_; }
  size_t num_params() const { return shapes_.size(); }
  const std::vector<int64_t>& shape(size_t param) const { return shapes_.at(param); }
  const std::string& name(size_t param) const { return names_.at(param); }
  // Elements rank r owns, over all parameters.
  int64_t owned_numel(int r) const;
  Piece piece(size_t param, int r) const { return pieces_.at(param).at(r); }
  Piece piece(size_t param) const { return piece(param, rank_); }
  // Same parameters, shapes, world and pieces: the same cut.
  bool same_cut(const ShardPlan& other) const;
  // The cut as integers (world, then each parameter's element count and every rank's
  // piece): equal on every rank whose replica has the same shapes (the fingerprint check
  // compares it).
  torch::Tensor describe() const;

 private:
  static ShardPlan shapes_of(const ParamSet& params, int world, int rank);

  int world_ = 1, rank_ = 0;
  int64_t total_ = 0;
  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> shapes_;
  std::vector<std::vector<Piece>> pieces_;  // [param][rank]
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
