#include "launch/checkpoint/options.h"

#include <sys/stat.h>

#include "runtime/error.h"

namespace sprout::launch {

void bind_checkpoint_options(OptionBinder& b, CheckpointConfig& c) {
  b.add("checkpoint.dir", &c.dir, "directory of checkpoint files (step-NNNNNNNN.h5) and the `latest` pointer");
  b.add("checkpoint.every", &c.every, "write a checkpoint every N steps (0: never)");
  b.add("checkpoint.keep", &c.keep, "keep the newest K checkpoints, remove older ones (0: keep all)");
  b.add("checkpoint.around_growth", &c.around_growth, "also checkpoint right before and after each growth event");
  b.add("checkpoint.at_end", &c.at_end, "write a checkpoint after the last step");
  b.add("checkpoint.async", &c.async,
        "write checkpoints on a background thread from a host snapshot; commit at a later step boundary");
  b.add("resume", &c.resume, "auto (newest good checkpoint in checkpoint.dir, else a fresh start) | PATH | none");
}

OptionTable checkpoint_option_table() { return table_of(bind_checkpoint_options); }

CheckpointConfig read_checkpoint_config(const Options& o) {
  CheckpointConfig c = load_bound(o, bind_checkpoint_options);
  validate(c);
  return c;
}

void validate(CheckpointConfig& c) {
  while (c.dir.size() > 1 && c.dir.back() == '/') c.dir.pop_back();
  SPROUT_CHECK(c.every >= 0, ConfigError, "--checkpoint.every: ", c.every, " must be >= 0");
  SPROUT_CHECK(c.keep >= 0 && c.keep <= 1000000, ConfigError, "--checkpoint.keep: ", c.keep,
               " must be in [0, 1000000] (0: keep all)");
  SPROUT_CHECK(!c.resume.empty(), ConfigError, "--resume: '' is not auto, none or a checkpoint file");
  if (c.writes() || c.resume == "auto") {
    SPROUT_CHECK(!c.dir.empty(), ConfigError, "--checkpoint.dir: '' must name a directory");
    struct stat st;
    SPROUT_CHECK(::stat(c.dir.c_str(), &st) != 0 || S_ISDIR(st.st_mode), ConfigError, "--checkpoint.dir: '", c.dir,
                 "' exists and is not a directory");
  }
  if (c.resume != "auto" && c.resume != "none") {
    struct stat st;
    SPROUT_CHECK(::stat(c.resume.c_str(), &st) == 0 && S_ISREG(st.st_mode), ConfigError, "--resume: '", c.resume,
                 "' is not auto, none or an existing checkpoint file");
  }
}

}  // namespace sprout::launch
