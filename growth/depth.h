// Depth growth: blocks added to a model while it trains, as one collective surgery each
// (runtime/surgery/surgery.h), keeping the function the model computes.
//
// The family says where a block may go and what it is (ModelFamily::add_block,
// growth/models/family.h): a ResNet appends a pre-activation basic block to a stage, a
// ViT a pre-LN Transformer block after its last one. The block's last layer on each
// residual branch (AddedBlock::zero: ResNet conv2; ViT proj and fc2) starts at 0, so the
// block adds 0 to the stream and the model is unchanged (eval mode, and in train mode
// whatever the batch statistics). The block's other weights (AddedBlock::partners) are
// chosen by a depth strategy:
//   random  the family's own initialisation (PyTorch's defaults) drawn from the event seed
//   zeros   0 (the block's biases on the zero layers are then the only thing that learns at
//           first: the baseline of GradMax's paper)
//   gradmax the roles swap: the fan-in layers (ResNet conv1; ViT qkv and fc1) start at 0 and
//           the fan-out layers (conv2; proj and fc2) are GradMax's choice, the top singular
//           directions of M for the block's inner site and heads grown from nothing
//           (depth_gradmax.cpp), so ‖∂L/∂W_fan-in‖ = c·sqrt(Σ σ_i²) exactly
//   vt      variance transfer: weights N(0, 1/fan_in), biases 0, and each new tensor learns
//           at lr·‖W_new‖/‖W_like‖ (W_like: the same tensor of the block it copies; 1 where
//           a norm is 0), as per-element learning-rate multipliers (Optimizer::set_lr_scale)
// Norms keep the family's initialisation (γ = 1, β = 0, running mean 0, variance 1).
//
// mlp and cnn have no residual stream: they grow by Net2DeeperNet's identity layer
// (growth/models/identity_layers.h), inserted after a hidden layer ("fc2", "conv1"),
// with the one strategy that keeps their function:
//   net2net the layer's weight is the identity (Linear: I; 3×3 conv: the Dirac kernel),
//           its bias 0; the activation is ReLU, so act(I·act(x)) = act(x); its norm (with
//           model.batch_norm) γ = sqrt(running_var + eps), β = running_mean: the identity
//           in eval mode. In train mode a norm uses the batch's statistics, so a
//           batch-normed model's function changes there (one without norms keeps it in
//           both modes).
//
// Names: the new block is numbered after every existing one (block<N+1>), so no tensor is
// renamed; the parameter set is re-listed in the order a model built from the grown
// architecture registers its tensors, so a grown model and one rebuilt from its checkpoint
// list them in the same order (gradient buckets, reductions and checkpoints see one
// layout), and its version() rises so the engine rebuilds its buckets. Optimizer state of
// the new tensors starts at 0 (step counter 0); old tensors and their state are untouched.
//
// The surgery (Note [Surgery ordering]) runs as for width: quiesce, decide (the grown
// architecture, compared across ranks), the new tensors computed on rank 0 and broadcast,
// the parameter set re-listed on every rank, an empty apply, commit (fingerprints of
// every parameter, buffer and optimizer tensor compared across ranks).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "growth/history.h"
#include "growth/models/depth_family.h"
#include "growth/models/model.h"
#include "growth/strategies/strategy.h"
#include "runtime/surgery/surgery.h"

namespace sprout::growth {

// Strategies a depth event may add residual blocks with.
std::vector<std::string> depth_strategy_names();
// Those a family of `kind` may use (net2net for the identity layers of mlp and cnn).
std::vector<std::string> depth_strategy_names(const std::string& kind);
// The families that grow in depth, for messages: "mlp, cnn, resnet, vit".
std::string depth_kinds();

// The parameters that start at zero under `strategy` (the block is the identity with them
// at 0): AddedBlock::zero, or for gradmax AddedBlock::partners.
std::vector<std::string> zero_started(const AddedBlock& block, const std::string& strategy);

// Why `strategy` cannot add blocks to a model of family `kind` ("" if it can).
std::string depth_refusal(const std::string& strategy, const std::string& kind);
// ConfigError, one line: "--growth.strategy S cannot grow model.kind K in depth: <why>", or
// naming the place when the family has no such place.
void check_depth_accepts(const std::string& strategy, const ArchSpec& spec, const std::string& place);

// `spec` with `count` blocks added at `place`, in order; throws ConfigError.
std::vector<AddedBlock> add_blocks(const ArchSpec& spec, const std::string& place, int64_t count);

// The surgery plan adding `blocks` (add_blocks(model.arch(), …)) to `model`: their tensors
// initialised by `strategy` from `seed`, placed where the grown architecture registers
// them (SurgeryPlan::parameters and buffers hold the new tensors only, in that order). No
// collectives; what rank 0 computes in grow_depth().
// gradmax needs `statistics` (depth_gradmax_statistics) and `options` (the norm c).
runtime::SurgeryPlan depth_plan(const Model& model, const std::vector<AddedBlock>& blocks, const std::string& strategy,
                                uint64_t seed, const std::map<std::string, torch::Tensor>* statistics = nullptr,
                                const StrategyOptions& options = {});

// One depth event as a surgery transaction (collective: every rank, the same arguments):
// quiesce, decide (the grown architecture), plan on rank 0, apply, Model::adopt, commit.
// SurgeryOptions::test_corrupt_rank makes that rank's first new tensor differ (the commit
// must then fail naming it).
// Returns the blocks added. Throws SurgeryError on failure, ConfigError for a refused event.
// `optimizer` (may be null): the one the surgery was made with, whose state gains the new
// parameters.
// gradmax: `batch` is this rank's share of the growth batch.
std::vector<AddedBlock> grow_depth(runtime::Surgery& surgery, Model& model, const std::string& place, int64_t count,
                                   const std::string& strategy, int64_t step, uint64_t seed,
                                   runtime::Optimizer* optimizer = nullptr, const GrowthBatch* batch = nullptr,
                                   const StrategyOptions& options = {});

// GradMax for new blocks (depth_gradmax.cpp). The probe: the grown model with every
// existing tensor copied (on the host) and every new weight 0. The statistics: M of every
// new inner site and heads group on the probe, summed over the ranks (collective, every
// rank). The choice: the probe's fan-outs set to gradmax_fan_out(M, k, c) (rank 0).
std::unique_ptr<Model> depth_probe(const Model& model, const std::vector<AddedBlock>& blocks, uint64_t seed);
std::map<std::string, torch::Tensor> depth_gradmax_statistics(runtime::Communicator& comm, const Model& model,
                                                              const std::vector<AddedBlock>& blocks,
                                                              const GrowthBatch& batch, uint64_t seed);
void choose_gradmax_fan_outs(Model& probe, const Model& model, const std::vector<AddedBlock>& blocks,
                             const std::map<std::string, torch::Tensor>& statistics, const StrategyOptions& options,
                             at::Generator& gen);

// Resume from a depth-grown checkpoint: whether `stored` is `model`'s architecture with
// blocks added (DepthFamily::with_added_blocks), and then `model` taking those blocks —
// its parameter set re-listed as a model built from `stored` lists it, the new tensors
// (on the model's device) from such a model, to be overwritten by the checkpoint's. Every
// rank the same; no collectives. take_added_blocks is a no-op when no block is added.
bool adds_blocks(const Model& model, const ArchSpec& stored);
void take_added_blocks(Model& model, const ArchSpec& stored);

// ‖∂L/∂W‖_F over the named parameters on the growth batch (eval mode, the mean loss over the
// global batch; collective: summed over ranks). After a depth event, the gradient norm of the
// zero-started layers: what GradMax maximises.
double parameters_grad_norm(runtime::Communicator& comm, Model& model, const std::vector<std::string>& names,
                            const GrowthBatch& batch);

// A depth event in the growth history (growth/history.h, checkpoints' /growth/history):
// site "depth:<place>" ("depth:stage2"), old_width and new_width the number of blocks at
// the place before and after.
inline std::string depth_record_site(const std::string& place) { return "depth:" + place; }
inline bool is_depth_record(const GrowthRecord& r) { return r.site.compare(0, 6, "depth:") == 0; }

}  // namespace sprout::growth
