// `sprout train`: data-parallel training from options / a config file.
#include <cstdio>
#include <memory>

#include "launch/cli/rank_agreement.h"
#include "launch/cli/commands.h"
#include "launch/checkpoint/checkpointer.h"
#include "launch/train/device_session.h"
#include "launch/train/init_from.h"
#include "launch/train/trainer.h"
#include "runtime/error.h"
#include "runtime/fault_injection.h"
#include "runtime/stop_signal.h"

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
    expect_arguments(options, "train", {});
    config = read_train_config(options);
    refuse_overwriting_inputs(config);  // --init.from inside checkpoint.dir
    runtime::FaultPlan plan;
    runtime::planned_fault(&plan);  // a malformed SPROUT_TEST_FAULT is refused up front
  });
  if (help) {
    if (ctx.is_root()) std::printf("%s", format_help(table, "usage: sprout train [--config FILE] [--section.key VALUE ...]").c_str());
    return 0;
  }
  agree_config(*ctx.comm, config.text);
  const auto dir_lock = lock_checkpoint_dir(*ctx.comm, config);  // one job per checkpoint.dir

  const auto init = read_init_weights(*ctx.comm, config);  // --init.from (launch/train/init_from.h)
  runtime::install_stop_handlers();  // SIGUSR1/SIGTERM: checkpoint and stop (status 75)
  const DeviceSession device = open_device(ctx, config.device, config.runtime.timeout_s);  // collective
  Trainer trainer(device.context(ctx), config);
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
