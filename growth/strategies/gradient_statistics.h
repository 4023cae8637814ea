// The statistics and closed forms that growth strategies use (growth/README.md "GradMax").
//
// GradMax's matrix M for a site l (producer l, consumer l+1): with the new units' fan-in
// W_new = 0, the gradient of the mean loss with respect to it is F^T M, F (F_out × k) the
// new fan-out columns in site_resize.h's unit-major order, so that
//     ∂L/∂w_j = M^T f_j,   ‖∂L/∂W_new‖_F = ‖M^T F‖_F.
// M = Σ_batch D·E^T, where (per example)
//   Linear producer:  E = h_{l-1} (F_in)            D = δ_{l+1} = ∂L/∂z_{l+1} (F_out)
//   Conv producer:    E = unfold(h_{l-1}, 3×3, padding 1, stride s) at the positions that
//                     survive the pooling (F_in × P); s is the producer's stride, doubled
//                     when the site is pooled: at a
//                     zero-fan-in channel the activation is identically 0, clamp_min's
//                     gradient at 0 is 1, and 2×2 max-pool routes the gradient of an
//                     all-equal window to its first (top-left) element.
//     Conv consumer:  D[(o,a,b), q] = δ[o, q − (a,b) + 1] (zero outside), the "transposed
//                     unfold" of δ: unfold(δ, 3×3, padding 1) with the kernel flipped.
//     Linear consumer across the flatten (channel owns g = P columns):
//                     D[(o,q'), q] = δ[o]·[q' = q].
// Where the activation's slope at 0 is not 1 (GELU: 1/2), M carries it. Tokens (N, T, ·)
// count as N·T examples of a Linear site.
// The forward pass runs in eval mode (batch-norm on running statistics, no buffer update).
// A new unit's batch-norm (γ=1, β=0, mean 0, var 1) then scales its gradient by
// 1/sqrt(1+eps) ≈ 1 − 5e-6; M leaves that factor out (it is the "aux layer" gradient).
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "growth/models/model.h"
#include "growth/strategies/strategy.h"
#include "runtime/comm/communicator.h"

namespace sprout::growth {

// This rank's M (F_out × F_in, float64) on its part of the batch; sum over ranks for the
// global M. Leaves no gradients behind. Not collective.
torch::Tensor growth_matrix(Model& model, const WidthSite& site, const GrowthBatch& batch);

// GradMax's M for a heads group (producers[0] the attention's qkv weight, consumers[0] its
// output projection, both traced by the model's forward as "<module>" inputs/outputs):
// a new head with zero q, k, v attends uniformly and outputs W_v·x̄ (x̄ the mean of qkv's
// input over the tokens), so with F (D_out × d_h) its proj columns the gradient of its v
// rows is F^T M with M = Σ_{n,t} δ_{n,t} x̄_n^T (D_out × D_in; δ = ∂L/∂proj output), and
// that of its q and k rows is 0. This rank's part; not collective.
torch::Tensor heads_growth_matrix(Model& model, const WidthSite& heads, const GrowthBatch& batch);

// GradMax's fan-out (k × F_out, float64): rows are the top left singular vectors of M,
// each of norm c. Directions beyond rank(M) (singular values ≤ 1e-6·σ_max) are random,
// orthogonal to the ones taken and to each other while F_out allows, then merely random
// of norm c (k > F_out cannot be orthogonal). Deterministic given `gen`.
torch::Tensor gradmax_fan_out(const torch::Tensor& m, int64_t k, double c, at::Generator& gen);

// ‖∂L/∂W_new‖_F: the gradient of the mean loss over the global batch with respect to the
// producer weight rows [old_width, width) of `site` (after growth; a group's: the new
// units' entries of every producer weight, biases and embeddings left out), eval mode. Collective
// (one allreduce). Leaves no gradients behind.
double new_fan_in_grad_norm(runtime::Communicator& comm, Model& model, const WidthSite& site, int64_t old_width,
                            const GrowthBatch& batch);

}  // namespace sprout::growth
