// The training workload of the benchmarks: the PyTorch DDP reference's
// (launch/scripts/ddp_reference.py) — Fashion-MNIST, MLP 784-H-H-10 or the CNN
// conv(32)-pool-conv(64)-pool-H-10, per-rank batch B, SGD momentum 0.9, lr 0.05 (or AdamW,
// lr 0.001, its state optionally sharded) — run by
// sprout's own training step (Trainer::train_step, what `sprout train` executes).
#pragma once

#include <cstdint>
#include <vector>

#include "launch/cli/options.h"
#include "launch/train/train_config.h"
#include "launch/train/trainer.h"

namespace sprout::launch {

// --model --hidden --batch --steps --warmup --threads --overlap --bucket_mb --data --optim --shard
OptionTable workload_option_table();
// Throws ConfigError naming the option and value.
void check_workload(const Options& options);
// The `sprout train` configuration of the workload (constant learning rate, no logging).
TrainConfig workload_config(const Options& options);

// Runs `count` training steps and returns each one's seconds, the maximum over ranks
// (a step is as slow as its slowest rank). Collective.
std::vector<double> timed_steps(Trainer& trainer, int64_t count);

}  // namespace sprout::launch
