// Cross-rank agreement checks: turn "ranks disagree" into a named error, not a hang.
#pragma once

#include <string>
#include <vector>

#include "runtime/comm/communicator.h"
#include "runtime/param_set.h"

namespace sprout::runtime {

class Optimizer;

// Compares every parameter, buffer and (if given) optimizer state tensor across ranks
// (state sharded among the ranks: the plan that cuts it, runtime/optim/sharding.h).
// First the manifest (names, dtypes, shapes) is hashed and compared with one small
// allreduce; then one 64-bit hash per tensor is gathered and compared to rank 0's.
// Throws SurgeryError naming the first tensor that differs and the rank it differs on.
// Collective.
void verify_identical(Communicator& comm, const ParamSet& params, const Optimizer* optimizer,
                      const std::string& context);

// The (name, tensor) pairs that verify_identical compares, in a fixed order.
std::vector<std::pair<std::string, torch::Tensor>> fingerprint_tensors(const ParamSet& params,
                                                                       const Optimizer* optimizer);

}  // namespace sprout::runtime
