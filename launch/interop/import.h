// A model given as a PyTorch state dict (Note [PyTorch layout] in torch_layout.h) as a
// sprout checkpoint: the file `sprout train --init.from`, `--resume`, `sprout merge`
// (as base or expert) and `sprout inspect` take, so a model trained in PyTorch can be
// grown, slimmed or merged by sprout.
//
// The checkpoint is that of a run at step 0 that has not trained: root attributes step 0,
// epoch 0, total_steps 0, tag "imported", config = the default training options with the
// model's model.* options; the model's /model and /buffers tensors; /architecture (spec,
// description, kind, widths); fresh SGD state (the default optimizer: every slot 0, every
// update counter 0); an empty /growth/history; /data at position 0; the input
// normalisation when known (/normalization/mean, /normalization/std); /rng with train_seed 0; and a group
// /import recording the source file and its format.
#pragma once

#include <optional>
#include <string>

#include "growth/models/arch.h"
#include "launch/interop/export.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/param_set.h"

namespace sprout::launch {

runtime::CheckpointContent imported_checkpoint(const growth::ArchSpec& arch, const runtime::ParamSet& params,
                                               const std::optional<InputNormalisation>& input,
                                               const std::string& source);

}  // namespace sprout::launch
