// The input normalisation in a checkpoint, next to the model it was trained with:
//   /normalization/mean, /normalization/std   float64 (C), one value per input channel, in
//   the units of the model's pixels (uint8 images divided by 255; float32 ones as stored).
// A restore, `sprout eval` and PyTorch users read it instead of recomputing it from the
// training data; checkpoints written before it existed have none (the data gives it).
#pragma once

#include <optional>
#include <string>

#include "data/dataset.h"
#include "data/normalization.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/comm/communicator.h"

namespace sprout::launch {

void store_normalization(runtime::CheckpointContent& content, const data::Normalization& norm);

// The normalisation of `train` computed by the ranks of `comm` together, each reading only
// its chunks (Note [Normalisation agreement] in data/normalization.h). Collective.
data::Normalization compute_normalization(runtime::Communicator& comm, const data::Dataset& train);

// The stored normalisation, or nullopt when the checkpoint has none. Throws CheckpointError
// naming `where` when it is malformed: one tensor without the other, not float64 vectors
// of the same length, values not finite, or a deviation <= 0.
std::optional<data::Normalization> stored_normalization(const runtime::CheckpointContent& content,
                                                        const std::string& where);

}  // namespace sprout::launch
