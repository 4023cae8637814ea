// When `sprout train` writes and reads checkpoints (options: launch/checkpoint/options.h;
// what a checkpoint holds: launch/checkpoint/run_state.h; the file and its commit protocol:
// runtime/checkpoint/store.h). Every function is collective: all ranks call it at the same
// point of the loop, and all of them leave it the same way.
//
//   Trainer::start()       resume_training        --resume auto | PATH | none
//   Trainer::after_step()  checkpoint_after_step  every checkpoint.every steps
//   Trainer::at_end()      checkpoint_at_end      checkpoint.at_end
//                                                 (and the commit of an async write)
//   growth events          checkpoint_around_growth(trainer, "pre-growth" / "post-growth")
//
// Resuming: `auto` tries the file `latest` names, then every other checkpoint in
// checkpoint.dir newest first (temporary files of killed writers are never candidates);
// a file that fails to load is reported with a warning and the previous one is tried;
// if none loads (or there is none) training starts from step 0. PATH must load, or the
// job ends with one line naming the file and what is wrong (exit 1; exit 2 for a
// checkpoint this run's options cannot continue: another model kind/depth or optimizer).
//
// Growth: a checkpoint is written after the step's update (tag ""), or around a growth
// event at step S, before (pre-growth) and after (post-growth) the surgery, all with
// step S. A run restored from S continues with the events of step S unless they are in
// the restored growth history (post-growth): they are already in the model.
#pragma once

#include <memory>
#include <string>

#include "runtime/checkpoint/dir_lock.h"
#include "runtime/checkpoint/store.h"

namespace sprout::launch {

class Trainer;
struct TrainConfig;

// The tags of a training run's checkpoints at one step, oldest first: a growth event of
// step S happens between its pre-growth and post-growth checkpoints, both after the
// untagged checkpoint of S (runtime/checkpoint/store.h orders by it).
const runtime::TagOrder& checkpoint_tag_order();

// Before anything else of a run that writes checkpoints: refuses an --init.from that is
// (or would become) a checkpoint in checkpoint.dir, which the run would overwrite or
// prune (ConfigError; local, so call it inside agree()).
void refuse_overwriting_inputs(const TrainConfig& config);

// Collective. When the run writes checkpoints, takes the lock of checkpoint.dir
// (runtime/checkpoint/dir_lock.h) for as long as the returned object lives; a directory in
// use by another job ends every rank with one line and status 2 (AgreedExit).
std::unique_ptr<runtime::CheckpointDirLock> lock_checkpoint_dir(runtime::Communicator& comm, const TrainConfig& config);

// Asynchronous checkpoints (checkpoint.async, runtime/checkpoint/async_save.h): a save
// stalls training only for the host snapshot and the file's layout; the write runs on a
// background thread; checkpoint_after_step commits it at the first step boundary where
// every rank's write is done; a save while one is in flight waits for it first; the end of
// the run and a stop request wait for it too. Every wait is logged (event
// checkpoint_wait). Every committed checkpoint logs one line and one JSON event
// "checkpoint" with bytes, stall_seconds (training blocked), write_seconds (the slowest
// rank's write), mb_per_s, wait_seconds and async.

// Writes a checkpoint of the trainer's state now, named after its step and `tag`.
// Returns the file's path (committed when this returns, unless checkpoint.async).
std::string save_checkpoint(Trainer& trainer, const std::string& tag = "");

// `stop_requested`: the ranks agreed on a stop request at this step (Note [Step agreement]
// in launch/train/trainer.cpp); then a checkpoint is written and AgreedExit(75) thrown.
void checkpoint_after_step(Trainer& trainer, bool stop_requested);
void checkpoint_at_end(Trainer& trainer);
// Commits the asynchronous write in flight, if any, waiting for it (`why` is logged).
void finish_checkpoint_writes(Trainer& trainer, const char* why);
// tag: "pre-growth" or "post-growth"; writes only when checkpoint.around_growth is set.
void checkpoint_around_growth(Trainer& trainer, const std::string& tag);

// Returns true if the trainer now continues from a checkpoint.
bool resume_training(Trainer& trainer);

}  // namespace sprout::launch
