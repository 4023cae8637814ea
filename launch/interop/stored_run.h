// What a checkpoint says about the run that wrote it, as export and import need it: the
// run's configuration (the root attribute config, TrainConfig's canonical option text) and
// the input normalisation its model was trained with.
#pragma once

#include <optional>
#include <string>

#include "launch/interop/export.h"
#include "launch/train/train_config.h"
#include "runtime/checkpoint/checkpoint.h"

namespace sprout::launch {

// The run's TrainConfig from the checkpoint's option text; repeatable options (growth
// events) are skipped. `data_dir` (when not empty) replaces data.dir. ConfigError for an
// option this sprout does not know, CheckpointError when the text is missing.
TrainConfig stored_train_config(const runtime::CheckpointContent& content, const std::string& where,
                                const std::string& data_dir = "");

// The normalisation the checkpoint records (/normalization/mean and /normalization/std,
// launch/train/stored_normalization.h), if it records one. (Otherwise it is the one sprout
// computes from the run's training data: data::DataSplits norm.)
std::optional<InputNormalisation> recorded_normalisation(const runtime::CheckpointContent& content,
                                                         const std::string& where);

// Records `input` as /normalization/mean and /normalization/std.
void store_input_normalisation(runtime::CheckpointContent& content, const InputNormalisation& input);

}  // namespace sprout::launch
