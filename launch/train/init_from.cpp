#include "launch/train/init_from.h"

#include <sys/stat.h>

#include <cstdio>

#include "launch/checkpoint/run_state.h"
#include "launch/cli/rank_agreement.h"
#include "launch/train/trainer.h"
#include "merge/checkpoint_files.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/error.h"

namespace sprout::launch {

void bind_init_options(OptionBinder& b, InitConfig& c) {
  b.add("init.from", &c.from, "start from this checkpoint's weights and architecture (a new run: step 0, fresh optimizer)");
}

OptionTable init_option_table() { return table_of(bind_init_options); }

void validate(const InitConfig& c) {
  if (!c.from.empty()) {
    struct stat st;
    SPROUT_CHECK(::stat(c.from.c_str(), &st) == 0 && S_ISREG(st.st_mode), ConfigError, "--init.from: '", c.from,
                 "' is not a checkpoint file");
  }
}

InitConfig read_init_config(const Options& o) {
  InitConfig c = load_bound(o, bind_init_options);
  validate(c);
  return c;
}

InitWeights read_model_checkpoint(runtime::Communicator& comm, const std::string& path, const std::string& option) {
  InitWeights w;
  w.path = path;
  const std::string where = concat("--", option, ": checkpoint '", path, "'");
  try {
    // The reader agrees on its errors, so every rank lands here alike.
    w.content = runtime::read_checkpoint_file(comm, path);
    w.arch = validate_model_content(w.content, where);  // what `sprout inspect` calls ok
    w.weights = merge::bundle_from_checkpoint(w.content, where);
  } catch (const Error& e) {
    if (comm.rank() == 0) {
      const std::string text = e.what();
      const std::string prefix = "--" + option;
      std::fprintf(stderr, "sprout: rank 0: %s%s\n", text.rfind(prefix, 0) == 0 ? "" : (prefix + ": ").c_str(),
                   text.c_str());
      std::fflush(stderr);
    }
    throw AgreedExit(dynamic_cast<const ConfigError*>(&e) ? 2 : 1);
  }
  return w;
}

std::optional<InitWeights> read_init_weights(runtime::Communicator& comm, TrainConfig& config) {
  if (config.init.from.empty()) return std::nullopt;
  InitWeights w = read_model_checkpoint(comm, config.init.from, "init.from");
  w.content = {};  // only the weights are needed
  config.model.kind = w.arch.kind;  // the family and its parameters; the data's shape stays
  config.model.params = w.arch.params;
  if (comm.rank() == 0) {
    std::fprintf(stderr, "init.from: %s (%s); the model.* options are not used\n", w.path.c_str(),
                 w.arch.describe().c_str());
  }
  return w;
}

void apply_init_weights(Trainer& trainer, const InitWeights& init) {
  const std::string stored = init.arch.describe(), built = trainer.model().arch().describe();
  SPROUT_CHECK(stored == built, ConfigError, "--init.from: '", init.path, "' holds a model '", stored,
               "' but this run's data makes it '", built, "'");
  trainer.load_weights(merge::to_param_set(init.weights));
}

}  // namespace sprout::launch
