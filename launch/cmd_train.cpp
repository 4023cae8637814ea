// `sprout train`: data-parallel training from options / a config file.
#include <cstdio>
#include <memory>

#include "launch/agreement.h"
#include "launch/commands.h"
#include "launch/init_from.h"
#include "launch/trainer.h"
#include "runtime/error.h"

namespace sprout::launch {

int run_train(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  const auto table = train_option_table();
  Options options;
  TrainConfig config;
  bool help = false;
  agree(*ctx.comm, [&] {
    options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    SPROUT_CHECK(options.positional().empty(), ConfigError, "train: unexpected argument '",
                 options.positional().front(), "'");
    config = read_train_config(options);
  });
  if (help) {
    if (ctx.is_root()) std::printf("%s", format_help(table, "usage: sprout train [--config FILE] [--section.key VALUE ...]").c_str());
    return 0;
  }
  agree_config(*ctx.comm, config.text);

  const auto init = read_init_weights(*ctx.comm, config);  // --init.from (launch/init_from.h)
  Trainer trainer(ctx, config);
  agree(*ctx.comm, [&] {
    trainer.prepare();
    if (init) apply_init_weights(trainer, *init);
  });
  const TrainResult result = trainer.run();
  if (ctx.is_root()) {
    std::printf("%s\n", result.summary().str().c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
