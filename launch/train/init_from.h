// --init.from PATH: a new training run that starts from a checkpoint's weights and
// architecture — how users fine-tune a base, e.g. to make an expert for `sprout merge`:
//   sprout train --init.from base.h5 --data.classes 2,3 --checkpoint.at_end true ...
// Unlike --resume, the run starts at step 0 with a fresh optimizer, learning-rate schedule
// and data order; only the parameters and buffers (batch-norm statistics) come from the
// file, and the model is built with the file's architecture (grown widths included), so
// the model.* options are not used. A --resume that finds a checkpoint still wins (a
// killed fine-tuning continues where it stopped).
#pragma once

#include <optional>
#include <string>

#include "growth/models/arch.h"
#include "launch/cli/option_binder.h"
#include "merge/tensor_bundle.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/comm/communicator.h"

namespace sprout::launch {

struct TrainConfig;
class Trainer;

struct InitConfig {
  std::string from;  // "" = a fresh initialisation
};

void bind_init_options(OptionBinder& b, InitConfig& c);
// ConfigError naming --init.from when the file does not exist. Pure.
void validate(const InitConfig& c);
OptionTable init_option_table();
InitConfig read_init_config(const Options& options);  // bind, load, validate

struct InitWeights {
  std::string path;
  growth::ArchSpec arch;
  merge::TensorBundle weights;
  runtime::CheckpointContent content;  // the whole file (fedcl saves it again)
};

// Reads a model checkpoint for option `option` (collective). A file that cannot be used
// ends the run on every rank with one line "--<option>: ..." (AgreedExit).
InitWeights read_model_checkpoint(runtime::Communicator& comm, const std::string& path, const std::string& option);

// When config.init.from is set: reads the checkpoint (collective), sets config.model to its
// architecture and returns its weights. A file that cannot be used ends the run on every
// rank with one line naming it (AgreedExit; status 1, or 2 for an unusable architecture).
std::optional<InitWeights> read_init_weights(runtime::Communicator& comm, TrainConfig& config);
// After Trainer::prepare(): installs the weights (ConfigError if the data does not fit the
// stored architecture). No collectives.
void apply_init_weights(Trainer& trainer, const InitWeights& init);

}  // namespace sprout::launch
