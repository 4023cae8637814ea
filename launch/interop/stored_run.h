// The input normalisation a checkpoint's model was trained with, as export and import read
// and write it (the run's configuration: stored_train_config in launch/checkpoint/run_state.h).
#pragma once

#include <optional>
#include <string>

#include "launch/interop/export.h"
#include "launch/checkpoint/run_state.h"
#include "runtime/checkpoint/checkpoint.h"

namespace sprout::launch {

// The normalisation the checkpoint records (/normalization/mean and /normalization/std,
// launch/train/stored_normalization.h), if it records one. (Otherwise it is the one sprout
// computes from the run's training data: data::DataSplits norm.)
std::optional<InputNormalisation> recorded_normalisation(const runtime::CheckpointContent& content,
                                                         const std::string& where);

// Records `input` as /normalization/mean and /normalization/std.
void store_input_normalisation(runtime::CheckpointContent& content, const InputNormalisation& input);

}  // namespace sprout::launch
