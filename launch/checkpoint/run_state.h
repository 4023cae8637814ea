// The state of a training run <-> a checkpoint's content (layout: runtime/checkpoint/checkpoint.h,
// runtime/README.md "File layout"):
//
//   / attrs        step, epoch, total_steps, tag, config (TrainConfig::text)
//   /model/…       every parameter          /buffers/…  every buffer (batch-norm statistics)
//   /optimizer     attrs name and hyper-parameters; /optimizer/<module>/<param> attrs
//                  step (its update counter), datasets <slot> and, when set, lr_scale
//   /architecture  attrs spec (growth::ArchSpec::serialize), description, kind;
//                  /architecture/widths attrs <site> = width
//   /growth/history  table: step, site, strategy, old_width, new_width, seconds, grad_norm
//   /growth/auto   attrs of the plateau detector of growth.auto (launch/growth/auto_driver.h),
//                  only in runs with it
//   /data          attrs seed, epoch, offset (the sampler's world-size-free position)
//   /normalization datasets mean, std: the input normalisation (launch/train/stored_normalization.h)
//   /rng           attrs train_seed; dataset torch_cpu (LibTorch's default generator).
//                  Everything else sprout draws is a pure function of train.seed: model
//                  initialisation (seeded generator) and data order ((seed, epoch)).
//
// Note [Restore order]: restore validates the whole content before it changes anything
// (so a rejected file leaves the trainer untouched and --resume auto can try another):
// it parses the stored architecture, rebuilds a model from it — which gives the names
// and shapes of every tensor of the run as it was saved, grown or not — and checks every
// tensor against them. Only then are parameters installed (ParamSet::set_parameter, as
// surgery does), then optimizer state at the same stored shapes, buffers, the sampler
// position, the step, the growth history and the RNG state.
#pragma once

#include <string>

#include "growth/models/arch.h"
#include "launch/train/train_config.h"
#include "runtime/param_set.h"
#include "runtime/checkpoint/checkpoint.h"

namespace sprout::launch {

class Trainer;

// The trainer's state now. `tag` is stored as the root attribute tag ("", pre-growth,
// post-growth). Local (no collectives) unless the optimizer shards its state: then
// collective on the trainer's communicator (runtime/optim/optimizer.h, full_state()).
runtime::CheckpointContent capture_training_state(Trainer& trainer, const std::string& tag);

// What makes a checkpoint a usable model — what --init.from, `sprout eval` and `sprout
// inspect`'s verdict require: every tensor verified its checksum; the architecture parses
// and is valid, and every width is the first dimension of a stored /model tensor (a width
// the tensors do not hold would only be allocated by the rebuild — absurd widths never
// reach LibTorch); the /model and /buffers tensors are finite. Returns the architecture.
// Throws CheckpointError naming `where`. Optimizer state, data position and growth history
// are not needed (a merged or imported model may lack them).
growth::ArchSpec validate_model_content(const runtime::CheckpointContent& content, const std::string& where);

// What a resume checks before it builds or installs anything, needing no trainer: the step
// is >= 0; validate_model_content; the RNG state is a uint8 vector of LibTorch's size; the
// optimizer's hyper-parameters and every floating tensor are finite. Throws CheckpointError
// naming `where`. `sprout inspect` runs it too (to say whether a run can resume from it).
void validate_checkpoint_content(const runtime::CheckpointContent& content, const std::string& where);

// Installs `content` (read from `path`, named in errors) into a prepared trainer, then
// checks that every rank holds the same state. Throws CheckpointError for a damaged or
// incomplete checkpoint and ConfigError for one this run cannot take (another model
// kind or depth, another optimizer), in both cases before changing anything.
// Collective (the final agreement check).
void restore_training_state(Trainer& trainer, const runtime::CheckpointContent& content, const std::string& path);

// The architecture a checkpoint stores, parsed and validated (ArchSpec::parse_stored).
// Throws CheckpointError naming `where`.
growth::ArchSpec stored_architecture(const runtime::CheckpointContent& content, const std::string& where);

// Installs the checkpoint's /model and /buffers tensors into `params` by name (copies;
// dtype and shape checked against the tensors `params` holds, which the stored
// architecture described as `arch`). Throws CheckpointError naming `where` and the tensor.
void install_model_tensors(runtime::ParamSet& params, const runtime::CheckpointContent& content,
                           const std::string& where, const std::string& arch);

// The run's TrainConfig from the checkpoint's option text (root attribute config), the
// data read from `data_dir` / `data_path` instead of the run's where given. Repeatable
// options (growth.event) are not needed to evaluate or export and are skipped; an option
// this sprout does not know is a ConfigError naming `where`.
TrainConfig stored_train_config(const runtime::CheckpointContent& content, const std::string& where,
                                const std::string& data_dir = "", const std::string& data_path = "");

// "--optim.lr is 0.1 here, 0.05 in the checkpoint; ..." for the options (other than
// checkpoint.*, resume, log.*, runtime.* and the run length) that differ; "" if none.
std::string config_differences(const std::string& checkpoint_text, const std::string& current_text);

}  // namespace sprout::launch
