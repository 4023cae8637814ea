#include "launch/checkpoint/checkpointer.h"

#include <cstdio>
#include <optional>
#include <sstream>

#include "launch/cli/rank_agreement.h"
#include "launch/checkpoint/run_state.h"
#include "launch/train/trainer.h"
#include "runtime/checkpoint/async_save.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/checkpoint/store.h"
#include "runtime/file_identity.h"
#include "runtime/error.h"
#include "runtime/stop_signal.h"

namespace sprout::launch {

namespace {

void warn(Trainer& t, const std::string& message) {
  if (!t.context().is_root()) return;
  std::fprintf(stderr, "sprout: warning: %s\n", message.c_str());
  std::fflush(stderr);
}

// Every rank holds the same error (checkpoint.h: errors are agreed): rank 0 prints it
// and every rank leaves with the same status through MPI_Finalize.
[[noreturn]] void agreed_failure(Trainer& t, const std::string& message, int status) {
  if (t.context().is_root()) {
    std::fprintf(stderr, "sprout: rank 0: %s\n", message.c_str());
    std::fflush(stderr);
  }
  throw AgreedExit(status);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Candidates of --resume auto, decided by rank 0 (the directory may be node-local
// elsewhere) and broadcast: `latest` first, then the others newest first.
std::vector<std::string> auto_candidates(Trainer& t) {
  const auto& dir = t.config().checkpoint.dir;
  std::string joined;
  if (t.context().is_root()) {
    const std::string latest = runtime::read_latest(dir);
    auto all = runtime::list_checkpoints(dir, checkpoint_tag_order());
    std::vector<std::string> ordered;
    for (const auto& name : all) {
      if (name == latest) ordered.insert(ordered.begin(), name);
      else ordered.push_back(name);
    }
    for (const auto& name : ordered) joined += dir + "/" + name + "\n";
  }
  return split_lines(runtime::broadcast_string(*t.context().comm, joined, 0));
}

}  // namespace

const runtime::TagOrder& checkpoint_tag_order() {
  static const runtime::TagOrder tags{"pre-growth", "post-growth"};
  return tags;
}

void refuse_overwriting_inputs(const TrainConfig& config) {
  const auto& cc = config.checkpoint;
  const std::string& input = config.init.from;
  if (input.empty() || !cc.writes()) return;
  // The input is in checkpoint.dir under a checkpoint name (any spelling, a symlink or a
  // hard link to such an entry included): a checkpoint of this run would replace it, or
  // pruning would remove it.
  const auto in = runtime::file_identity(input);
  auto names = runtime::list_checkpoints(cc.dir, checkpoint_tag_order());
  const std::string input_name = input.substr(input.find_last_of('/') + 1);
  const bool dir_is_parent = runtime::same_file(input.find('/') == std::string::npos
                                                    ? "."
                                                    : input.substr(0, input.find_last_of('/') + 1) + ".",
                                                cc.dir);
  if (dir_is_parent && runtime::parse_checkpoint_name(input_name)) names.push_back(input_name);
  for (const auto& name : names) {
    SPROUT_CHECK(runtime::file_identity(cc.dir + "/" + name) != in, ConfigError, "--init.from: '", input,
                 "' is the checkpoint '", name, "' of checkpoint.dir '", cc.dir,
                 "', which this run's checkpoints would overwrite or prune; copy it elsewhere first");
  }
}

std::unique_ptr<runtime::CheckpointDirLock> lock_checkpoint_dir(runtime::Communicator& comm, const TrainConfig& config) {
  const auto& cc = config.checkpoint;
  if (!cc.writes()) return nullptr;
  std::string warning;
  try {
    auto lock = runtime::CheckpointDirLock::acquire(comm, cc.dir, &warning);
    if (!warning.empty() && comm.rank() == 0) std::fprintf(stderr, "sprout: warning: %s\n", warning.c_str());
    return lock;
  } catch (const ConfigError& e) {
    if (comm.rank() == 0) std::fprintf(stderr, "sprout: rank 0: %s\n", e.what());
    throw AgreedExit(2);
  } catch (const CheckpointError& e) {
    if (comm.rank() == 0) std::fprintf(stderr, "sprout: rank 0: %s\n", e.what());
    throw AgreedExit(1);
  }
}

namespace {

std::string format_seconds(const char* format, double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, format, seconds);
  return text;
}

// One line and one JSON event per committed checkpoint: what it cost.
void report_save(Trainer& t, const runtime::SaveReport& r) {
  const auto& w = r.commit.write;
  const auto name = runtime::parse_checkpoint_name(r.commit.path.substr(r.commit.path.find_last_of('/') + 1));
  runtime::JsonObject j;
  j.add("event", "checkpoint").add("step", name ? name->step : t.step()).add("path", r.commit.path)
      .add("bytes", w.bytes).add("async", r.async).add("stall_seconds", r.stall_seconds)
      .add("wait_seconds", r.wait_seconds).add("write_seconds", r.write_seconds).add("mb_per_s", w.mb_per_s())
      .add("seconds", r.commit.seconds).add("removed", static_cast<int64_t>(r.commit.removed.size()));
  char line[768];
  std::snprintf(line, sizeof line, "checkpoint %s: %.1f MB written in %.2f s (%.0f MB/s), training stalled %.3f s%s%s",
                r.commit.path.c_str(), w.bytes / 1e6, r.write_seconds, w.mb_per_s(), r.stall_seconds,
                r.async ? format_seconds(" (async; waited %.3f s)", r.wait_seconds).c_str() : "",
                r.commit.removed.empty() ? "" : concat(", removed ", r.commit.removed.size(), " older").c_str());
  t.progress().event(line, &j);
}

void report_wait(Trainer& t, const std::optional<runtime::SaveReport>& previous, const char* why) {
  if (!previous) return;
  if (previous->wait_seconds > 0.001) {
    char line[512];
    std::snprintf(line, sizeof line, "checkpoint: %s waited %.3f s for %s to be written", why, previous->wait_seconds,
                  previous->commit.path.c_str());
    runtime::JsonObject j;
    j.add("event", "checkpoint_wait").add("step", t.step()).add("path", previous->commit.path)
        .add("wait_seconds", previous->wait_seconds).add("reason", why);
    t.progress().event(line, &j);
  }
  report_save(t, *previous);
}

// Runs `fn` under the phase name `phase`; a CheckpointError (the same on every rank:
// store.h, async_save.h) ends the job with one line from rank 0 and status 1.
template <class Fn>
auto checkpoint_phase(Trainer& t, const std::string& phase, Fn fn) {
  auto& comm = *t.context().comm;
  const std::string previous = comm.phase();
  comm.set_phase(phase);  // named by timeouts
  try {
    auto out = fn();
    comm.set_phase(previous);
    return out;
  } catch (const CheckpointError& e) {
    agreed_failure(t, e.what(), 1);
  }
}

}  // namespace

std::string save_checkpoint(Trainer& t, const std::string& tag) {
  auto& comm = *t.context().comm;
  const auto& cc = t.config().checkpoint;
  const std::string name = runtime::checkpoint_file_name(t.step(), tag);
  const runtime::PruneRules rules{static_cast<int>(cc.keep), checkpoint_tag_order(), runtime::cached_checkpoint_problem};
  const auto content = capture_training_state(t, tag);
  if (cc.async) {
    auto previous = checkpoint_phase(t, concat("checkpoint ", name), [&] {
      return t.async_checkpoints().save(comm, cc.dir, name, content, rules);
    });
    report_wait(t, previous, "a new checkpoint");
    return cc.dir + "/" + name;
  }
  const auto r = checkpoint_phase(t, concat("checkpoint ", name),
                                  [&] { return runtime::commit_checkpoint(comm, cc.dir, name, content, rules); });
  runtime::SaveReport report;
  report.commit = r;
  report.stall_seconds = r.seconds;
  report.write_seconds = r.write.write_seconds;
  report_save(t, report);
  return r.path;
}

void finish_checkpoint_writes(Trainer& t, const char* why) {
  if (!t.config().checkpoint.async) return;
  auto done = checkpoint_phase(t, "checkpoint commit", [&] { return t.async_checkpoints().drain(*t.context().comm); });
  report_wait(t, done, why);
}

void checkpoint_after_step(Trainer& t, bool stop_requested) {
  const auto& cc = t.config().checkpoint;
  if (cc.async) {
    auto done = checkpoint_phase(t, "checkpoint commit", [&] { return t.async_checkpoints().poll(*t.context().comm); });
    if (done) report_save(t, *done);
  }
  const bool periodic = cc.every > 0 && t.step() % cc.every == 0;
  if (periodic) save_checkpoint(t);
  // Stop requests (SIGUSR1 before a Slurm time limit, SIGTERM): agreed by all ranks at
  // this step boundary by the trainer, then a checkpoint and exit status 75.
  if (t.step() >= t.total_steps() || !stop_requested) return;
  const std::string path = periodic ? runtime::checkpoint_file_name(t.step(), "") : save_checkpoint(t);
  finish_checkpoint_writes(t, "the stop");
  runtime::JsonObject j;
  j.add("event", "stop").add("step", t.step()).add("checkpoint", path);
  t.progress().event(concat("stop requested: stopped after step ", t.step(), " of ", t.total_steps(),
                            "; continue with --resume auto"), &j);
  t.progress().finish();
  throw AgreedExit(runtime::kStoppedForRequeue);
}

void checkpoint_at_end(Trainer& t) {
  const auto& cc = t.config().checkpoint;
  if (cc.at_end && !(cc.every > 0 && t.step() % cc.every == 0)) save_checkpoint(t);
  finish_checkpoint_writes(t, "the end of training");
}

void checkpoint_around_growth(Trainer& t, const std::string& tag) {
  if (t.config().checkpoint.around_growth) save_checkpoint(t, tag);
}

bool resume_training(Trainer& t) {
  const auto& cc = t.config().checkpoint;
  if (cc.resume == "none") return false;
  auto& comm = *t.context().comm;
  comm.set_phase("resume");
  const bool automatic = cc.resume == "auto";
  const auto candidates = automatic ? auto_candidates(t) : std::vector<std::string>{cc.resume};
  if (candidates.empty()) {
    t.progress().event(concat("no checkpoint in ", cc.dir, ": starting from step 0"));
    return false;
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& path = candidates[i];
    try {
      const auto content = runtime::read_checkpoint_file(comm, path);
      restore_training_state(t, content, path);
      const auto diff = config_differences(runtime::attr_string(content.root, "config", path), t.config().text);
      if (!diff.empty()) warn(t, concat("resuming from '", path, "' with other options: ", diff));
      const int64_t writers = runtime::attr_int(content.root, "world_size", path);
      runtime::JsonObject j;
      j.add("event", "resume").add("step", t.step()).add("path", path).add("written_by", writers);
      t.progress().event(concat("resumed from ", path, " at step ", t.step(), " (written by ", writers, " rank",
                                writers == 1 ? "" : "s", ", restored on ", comm.size(), ")"),
                         &j);
      return true;
    } catch (const CheckpointError& e) {
      if (!automatic) agreed_failure(t, e.what(), 1);
      warn(t, concat(e.what(), i + 1 < candidates.size() ? "; trying the previous checkpoint" : ""));
    } catch (const ConfigError& e) {
      agreed_failure(t, e.what(), 2);
    }
  }
  warn(t, concat("no usable checkpoint in ", cc.dir, ": starting from step 0"));
  return false;
}

}  // namespace sprout::launch
