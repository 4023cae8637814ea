// Options of checkpoints during `sprout train` (the [checkpoint] section, and --resume).
//
//   checkpoint.dir            where checkpoint files go (step-00000100.h5, `latest`)
//   checkpoint.every          write one every N steps (0: never)
//   checkpoint.keep           keep the newest K files, remove older ones (0: keep all)
//   checkpoint.around_growth  also write one right before and right after each growth
//                             event (step-S-pre-growth.h5, step-S-post-growth.h5)
//   checkpoint.at_end         write one after the last step
//   checkpoint.async          training stops only to copy the state to host memory; a
//                             background thread writes it and the commit happens at a
//                             later step boundary (runtime/checkpoint/async_save.h)
//   resume                    auto (newest good checkpoint in checkpoint.dir, or a fresh
//                             start if there is none) | PATH (that file, or fail) | none
// Reading is pure (the same verdict on every rank); every error names the option and
// the value (exit status 2).
#pragma once

#include <cstdint>
#include <string>

#include "launch/cli/option_binder.h"

namespace sprout::launch {

struct CheckpointConfig {
  std::string dir = "checkpoints";
  int64_t every = 0;
  int64_t keep = 3;
  bool around_growth = false;
  bool at_end = false;
  bool async = false;
  std::string resume = "none";  // none | auto | a file path
  bool writes() const { return every > 0 || around_growth || at_end; }
};

// Declares the options, each bound to its field of `c` (whose values are the defaults).
void bind_checkpoint_options(OptionBinder& b, CheckpointConfig& c);
// Checks the values (and normalises checkpoint.dir); ConfigError naming option and value.
void validate(CheckpointConfig& c);
OptionTable checkpoint_option_table();
CheckpointConfig read_checkpoint_config(const Options& options);  // bind, load, validate

}  // namespace sprout::launch
