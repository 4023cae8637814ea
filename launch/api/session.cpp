#include "launch/api/session.h"

#include "launch/cli/options.h"
#include "launch/cli/rank_agreement.h"
#include "launch/train/init_from.h"
#include "runtime/error.h"
#include "runtime/error_message.h"
#include "runtime/stop_signal.h"

namespace sprout::api {

Session::Session(int& argc, char**& argv)
    : env_(&argc, &argv), world_(env_.world()), ctx_{world_.get(), env_.local_rank(), env_.local_size()} {}

int Session::run(const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (const launch::AgreedExit& e) {
    return e.status();
  } catch (const std::exception& e) {
    const int code = dynamic_cast<const ConfigError*>(&e) ? 2 : 1;
    // One line, even for LibTorch's errors (which carry a backtrace), as sprout's own main.
    runtime::MpiEnvironment::abort_job(concat("sprout: rank ", rank(), ": ", runtime::error_line(e)), code);
  }
}

// The steps of `sprout train` (launch/cli/cmd_train.cpp), from options given by the program.
Training::Training(Session& session, const std::vector<std::string>& options) {
  auto& ctx = session.context();
  const auto table = launch::train_option_table();
  launch::TrainConfig config;
  launch::agree(*ctx.comm, [&] {
    const auto parsed = launch::Options::parse(table, options);
    SPROUT_CHECK(!parsed.help(), ConfigError, "training options: --help lists nothing here (see sprout train --help)");
    expect_arguments(parsed, "training options", {});
    config = launch::read_train_config(parsed);
    launch::refuse_overwriting_inputs(config);  // --init.from inside checkpoint.dir
  });
  launch::agree_config(*ctx.comm, config.text);
  dir_lock_ = launch::lock_checkpoint_dir(*ctx.comm, config);  // one job per checkpoint.dir
  const auto init = launch::read_init_weights(*ctx.comm, config);
  runtime::install_stop_handlers();  // SIGUSR1/SIGTERM: checkpoint and stop (status 75)
  device_ = launch::open_device(ctx, config.device, config.runtime.timeout_s);  // collective
  trainer_ = std::make_unique<launch::Trainer>(device_.context(ctx), config);
  launch::agree(*ctx.comm, [&] {
    trainer_->prepare();
    if (init) launch::apply_init_weights(*trainer_, *init);
  });
}

Training::~Training() = default;

launch::TrainResult Training::run() { return trainer_->run(); }

}  // namespace sprout::api
