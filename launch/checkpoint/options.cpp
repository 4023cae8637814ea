#include "launch/checkpoint/options.h"

#include <sys/stat.h>

#include "runtime/error.h"

namespace sprout::launch {

OptionTable checkpoint_option_table() {
  return {
      {"checkpoint.dir", "checkpoints", "directory of checkpoint files (step-NNNNNNNN.h5) and the `latest` pointer"},
      {"checkpoint.every", "0", "write a checkpoint every N steps (0: never)"},
      {"checkpoint.keep", "3", "keep the newest K checkpoints, remove older ones (0: keep all)"},
      {"checkpoint.around_growth", "false", "also checkpoint right before and after each growth event"},
      {"checkpoint.at_end", "false", "write a checkpoint after the last step"},
      {"resume", "none", "auto (newest good checkpoint in checkpoint.dir, else a fresh start) | PATH | none"},
  };
}

CheckpointConfig read_checkpoint_config(const Options& o) {
  CheckpointConfig c;
  c.dir = o.get("checkpoint.dir");
  while (c.dir.size() > 1 && c.dir.back() == '/') c.dir.pop_back();
  c.every = o.get_int("checkpoint.every");
  SPROUT_CHECK(c.every >= 0, ConfigError, "--checkpoint.every: ", c.every, " must be >= 0");
  c.keep = o.get_int("checkpoint.keep");
  SPROUT_CHECK(c.keep >= 0 && c.keep <= 1000000, ConfigError, "--checkpoint.keep: ", c.keep,
               " must be in [0, 1000000] (0: keep all)");
  c.around_growth = o.get_bool("checkpoint.around_growth");
  c.at_end = o.get_bool("checkpoint.at_end");
  c.resume = o.get("resume");
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
  return c;
}

}  // namespace sprout::launch
