// One client's local training in a round of `sprout fedcl`: data-parallel over its node
// group with launch::Trainer, on the client's shard, from the model the round starts it
// from, optionally with FedProx's proximal term.
//
// Note [FedProx step]
// FedProx (Li et al. 2020) minimises f(θ) + μ/2 ‖θ − θ_start‖² locally. The proximal part is
// applied after each optimizer step as its own gradient step, θ ← θ − lr_t·μ·(θ − θ_start)
// (decoupled, like AdamW's weight decay): for plain SGD it is the same update as adding
// μ(θ − θ_start) to the gradient, and it leaves the trainer's loop untouched. μ = 0 is plain
// local training, bit for bit `sprout train`'s.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "launch/train/trainer.h"
#include "merge/tensor_bundle.h"
#include "runtime/context.h"

namespace sprout::launch {

// The training and test examples a client sees: `shard` (indices into all.train) and the
// test examples of `classes`; the normalisation of the whole training set.
data::DataSplits client_data(const data::DataSplits& all, const std::vector<int64_t>& shard,
                             const std::vector<int64_t>& classes);

struct ClientResult {
  merge::TensorBundle trained;
  Evaluation test;  // on the test examples of the client's classes
};

// A trainer for config.train.steps on `data` over the client's node group. No collectives
// (callers run it inside agree()); ConfigError / DataError as Trainer::prepare.
std::unique_ptr<Trainer> prepare_client(runtime::RuntimeContext group_ctx, const TrainConfig& config,
                                        data::DataSplits data, bool freeze_head);
// Trains from `start` (every rank of the group alike) and evaluates on the client's test
// examples. Collective over the group.
ClientResult train_client(Trainer& trainer, const merge::TensorBundle& start, double prox_mu);

// The output layer (the module of the last registered parameter) gets learning-rate scale 0:
// its task vector is exactly 0, so every merge keeps θ_0's head.
void freeze_output_layer(Trainer& trainer);

}  // namespace sprout::launch
