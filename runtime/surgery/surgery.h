// Surgery: the transaction that changes a model's tensors on every rank of a data-parallel
// job and leaves the replicas bitwise identical. It knows no growth strategy: a caller
// (growth/strategies/strategy.h) supplies the statistics it needs and the new tensors.
//
// Note [Surgery ordering]: every rank calls, in this order and at the same step,
//   Surgery s(comm, params, optimizer, options);
//   s.quiesce(step);          1. all ranks at the same step, nothing in flight, grads dropped
//   s.decide(description);    2. rank 0's decision wins; a rank that disagrees -> SurgeryError
//   ... collectives of the caller, e.g. comm.allreduce(M, Sum)   3a. global statistics
//   plan = s.compute_on_root(fn);   3b. fn runs on rank 0 only; its plan is broadcast
//   s.apply(plan);            4. tensors installed, optimizer state resized
//   s.commit();               5. version bumped, fingerprint compared across ranks
// Calling them out of order throws Error. Every phase is collective; a failure in any of
// them is raised on every rank (as SurgeryError), never left for one rank to wait on:
// an exception inside fn on rank 0 is broadcast as the plan and rethrown everywhere.
//
// Apply: a parameter is replaced by a new leaf tensor under the same name (Note
// [Parameter replacement] in param_set.h), so the data-parallel engine rebuilds its buckets
// at the next step. When a parameter's shape changes, every optimizer slot of it is resized
// with Optimizer::resize_state: the region old and new shapes share (leading indices of
// every dimension) is kept bit-exact and the rest is 0; step counters are kept. Growth must
// therefore append (new rows, new columns at the end), which every strategy does.
//
// Commit: parameter-set version bumped, gradients dropped, and runtime::verify_identical
// over parameters, buffers and optimizer state: a tensor that differs between ranks raises
// SurgeryError naming it ("growth step 600 fc1: fc1.weight differs between rank 0 and
// rank 1") on every rank, so the job ends instead of training on diverged replicas.
//
// Test hook: SurgeryOptions::test_corrupt_rank = R (callers read it from the environment
// variable SPROUT_TEST_CORRUPT_RANK with test_corrupt_rank_from_env()) makes rank R add
// 1e-3 to the first element of the plan's first parameter after installing it, so the
// commit check must fail naming that parameter. For tests only; -1 (the default) is off.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/comm/communicator.h"
#include "runtime/param_set.h"

namespace sprout::runtime {

class Optimizer;

// New values of named tensors, computed on the root and installed on every rank.
struct SurgeryPlan {
  using Named = std::vector<std::pair<std::string, torch::Tensor>>;
  Named parameters;  // existing parameters, replaced (any shape)
  Named buffers;     // existing buffers, replaced (any shape)
  Named lr_scales;   // per-element learning-rate multipliers, shaped like the new parameter
  bool empty() const { return parameters.empty() && buffers.empty() && lr_scales.empty(); }
};

struct SurgeryOptions {
  int root = 0;
  // Prefix of every error and of the fingerprint context ("growth step 600 fc1").
  std::string context = "surgery";
  // Test hook (see the header comment); -1: off.
  int test_corrupt_rank = -1;
};

// SPROUT_TEST_CORRUPT_RANK as an int, -1 when unset or not a number.
int test_corrupt_rank_from_env();

class Surgery {
 public:
  // `optimizer` may be null (no optimizer state to resize or compare).
  Surgery(Communicator& comm, ParamSet& params, Optimizer* optimizer, SurgeryOptions options = {});

  // 1. Every rank must be at `step` (compared with one allreduce). The caller guarantees
  // no asynchronous collective of its own is in flight (a step boundary). Drops gradients.
  void quiesce(int64_t step);
  // 2. Rank 0's `decision` (a description of the change) is broadcast; a rank whose own
  // decision differs makes every rank throw SurgeryError.
  void decide(const std::string& decision);
  // 3b. Runs `fn` on the root only (it must not call collectives) and broadcasts the plan it
  // returns: names, dtypes, shapes, then every tensor. Returns the same plan on every rank.
  SurgeryPlan compute_on_root(const std::function<SurgeryPlan()>& fn);
  // 4. Installs the plan (every rank, the same plan). Names must exist.
  void apply(const SurgeryPlan& plan);
  // 5. Bumps the version and verifies every parameter, buffer and optimizer state tensor is
  // bitwise identical across ranks; throws SurgeryError naming the first that is not.
  void commit();

  Communicator& comm() { return comm_; }
  bool is_root() const { return comm_.rank() == options_.root; }
  const SurgeryOptions& options() const { return options_; }

 private:
  enum class Phase { Created, Quiesced, Decided, Computed, Applied, Committed };
  void advance(Phase from, Phase to, const char* what);

  Communicator& comm_;
  ParamSet& params_;
  Optimizer* optimizer_;
  SurgeryOptions options_;
  Phase phase_ = Phase::Created;
};

}  // namespace sprout::runtime
