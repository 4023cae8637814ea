// TaskVectors: the experts of one merge as task vectors τ_i = θ_i − θ_0 over a list of
// tensors (one tensor when streaming from files, every parameter of a model in a
// collective), and the one operation merge methods are written in: a reduction over the
// experts. A method written on reduce() runs unchanged in memory and as a collective.
//
// Where the experts are:
//  - in memory (comm == nullptr): every expert is held here;
//  - across processes: each rank of `comm` holds some experts (none, one or several). A
//    reduction folds this rank's experts, then allreduces over `comm`: one collective per
//    reduce() call whatever the number of tensors (they travel as one flat buffer), and
//    only Sum, Max and Min, so it works over NCCL as well as MPI.
// Max and Min give bitwise equal results both ways (selection is exact); Sum agrees to
// rounding (the order of additions differs) and exactly for two experts.
//
// Arithmetic is float64 whatever the tensors' dtype: for float32 experts τ_i is exact, so
// merging one expert with λ = 1 returns it bit for bit; −0 is canonicalised to +0 so that
// Max and Min select the same bits in every order.
//
// Collective contract: every rank of `comm` constructs TaskVectors over the same tensor
// layout and calls reduce() the same number of times in the same order (merge/collective.h
// checks the layout first, so a mismatch is a named error, not a hang).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/comm/communicator.h"

namespace sprout::merge {

class TaskVectors {
 public:
  using Tensors = std::vector<torch::Tensor>;
  // For one expert: its contribution, computed from its task vector (a list parallel to
  // the base's tensors). Any number of float64 tensors of any shapes, the same for every
  // expert; a contribution must not depend on which other experts exist.
  using Map = std::function<Tensors(const Tensors& tau)>;
  // The same, also given the expert's index among all experts (0 … count()−1: the order of
  // the experts in memory, or in a collective the node groups' order, then each group's).
  // A process without experts calls it once with zeros and −1, for the contribution's shape.
  using IndexedMap = std::function<Tensors(const Tensors& tau, int64_t expert)>;

  // base: θ_0's tensors. experts: this process's experts, each a list parallel to base
  // (same shapes; ConfigError otherwise). total: the number of experts over all ranks
  // (== experts.size() in memory; >= 1).
  TaskVectors(const Tensors& base, const std::vector<Tensors>& experts, int64_t total,
              runtime::Communicator* comm = nullptr);

  int64_t count() const { return total_; }
  // In a collective the total is known only after the ranks agree (merge/collective.cpp).
  void set_count(int64_t total);
  // The index of this process's first expert among all (0 in memory; a collective sets it
  // once the ranks agree on how many experts each holds).
  void set_first_expert(int64_t first) { first_expert_ = first; }
  // Optional names of the tensors (parallel to base()), for methods that draw per tensor
  // (random selection seeds each tensor by its name, so a tensor merged alone from files
  // and the same tensor merged in a whole model draw the same). Empty names by default.
  void set_names(std::vector<std::string> names);
  const std::string& name(size_t i) const { return names_.at(i); }
  size_t num_tensors() const { return base_.size(); }
  // θ_0's tensors in float64.
  const Tensors& base() const { return base_; }
  // False if any local expert or the base holds NaN or ±inf (checked at construction).
  bool finite() const { return finite_; }

  // Σ, max or min over all experts of fn(τ_i) (fn absent: τ_i itself), element-wise.
  // Every rank returns the same values. Avg is refused (divide a Sum by count()).
  Tensors reduce(runtime::ReduceOp op, const Map& fn = nullptr);
  Tensors reduce_indexed(runtime::ReduceOp op, const IndexedMap& fn);
  // reduce() calls so far (= collectives issued when comm is set).
  int64_t reductions() const { return reductions_; }

 private:
  Tensors base_;
  std::vector<std::string> names_;
  int64_t first_expert_ = 0;
  std::vector<Tensors> tau_;  // this process's task vectors, float64
  int64_t total_;
  runtime::Communicator* comm_;
  bool finite_ = true;
  int64_t reductions_ = 0;
};

}  // namespace sprout::merge
