// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ (L2, the norm of the
// per-tensor norms, coefficient max_norm / (norm + 1e-6) clamped to 1, every gradient
// multiplied by it).
#pragma once

#include <torch/types.h>

#include <vector>

namespace sprout::runtime {

class Communicator;

// Clips `grads` in place (undefined ones are skipped) and returns the norm before clipping.
// The gradients are the reduced ones, equal on every rank, so no communication is needed.
double clip_grad_norm(const std::vector<torch::Tensor>& grads, double max_norm);

// The same over gradients split into disjoint pieces across the ranks of `comm` (each rank
// holds `pieces`, no element twice): one scalar allreduce of the squared norms. Collective.
double clip_grad_norm_sharded(const std::vector<torch::Tensor>& pieces, double max_norm, Communicator& comm);

}  // namespace sprout::runtime
