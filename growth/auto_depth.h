// Depth candidates of automatic growth (growth/README.md "Automatic growth"): every place a
// block can go (a ResNet's stage1..stage3, a ViT's blocks) competes with the width groups
// on the same scale.
//
// The bound of a new block is GradMax's bound of its own sites grown from nothing: on the
// probe (depth_probe, growth/depth.h: the grown model with every new weight 0), each of the
// block's inner sites and heads groups is a group of k units with zero fan-in, and its
// bound is the sum of the top k squared singular values of its M (k·d_h for heads), summed
// over the block's groups. That is ‖∂L/∂W_fan-in‖² the block's zero-started fan-in layers
// receive when its fan-out layers are GradMax's unit-norm columns (depth_gradmax.cpp) —
// the quantity a width candidate's bound is for its new units. Both are the first-order
// decrease of the loss per unit learning rate on the first step after the growth, so
// divided by the parameters (or MACs) the growth adds they are on one scale: the decrease
// bought per parameter added.
//
// How much: one block per decision, infeasible when the grown model exceeds
// growth.max_params or growth.max_macs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "growth/auto_growth.h"
#include "growth/models/model.h"
#include "growth/strategies/strategy.h"
#include "runtime/comm/communicator.h"

namespace sprout::growth {

// Why automatic growth cannot weigh blocks for models of family `kind` ("" if it can): the
// family must grow in depth by residual blocks (resnet, vit) and by GradMax, whose bound
// is the score.
std::string depth_candidate_refusal(const std::string& kind);

// The places a block can go in `arch`, in the family's order.
std::vector<std::string> depth_candidate_places(const ArchSpec& arch);

// The candidate "one block at `place`": kind "depth", width the blocks at the place now,
// add 1 (0 and infeasible "budget" when the grown model does not fit), params_after,
// macs_after and cost in `measure`. The bound is left 0 (depth_gradmax_bound).
GrowthCandidate size_depth_candidate(const ArchSpec& arch, const std::string& place, const GrowthBudget& budget,
                                     CostMeasure measure);

// GradMax's bound of one new block at `place` (see above) on the growth batch: M of each
// of its groups summed over the ranks. Collective: every rank, the same place, in order.
double depth_gradmax_bound(runtime::Communicator& comm, const Model& model, const std::string& place,
                           const GrowthBatch& batch, uint64_t seed);

}  // namespace sprout::growth
