// sprout: grow, slim and merge models while they train on many processes.
// Entry point: MPI set-up, subcommand dispatch, and the last line of error handling
// (Note [Error agreement] in launch/cli/rank_agreement.h).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "launch/cli/rank_agreement.h"
#include "launch/cli/commands.h"
#include "runtime/error.h"
#include "runtime/error_message.h"
#include "runtime/comm/mpi_communicator.h"

namespace {

using sprout::launch::Command;

const Command kCommands[] = {
    {"train", sprout::launch::run_train, "data-parallel training (growth, checkpoints)"},
    {"fedcl", sprout::launch::run_fedcl, "federated continual learning: merge node groups' task experts"},
    {"merge", sprout::launch::run_merge, "merge expert checkpoints (sprout merge --help lists the methods)"},
    {"inspect", sprout::launch::run_inspect, "show and verify a checkpoint file"},
    {"eval", sprout::launch::run_eval, "accuracy, MACs and speed of a slimmable checkpoint per width"},
    {"bench", sprout::launch::run_bench, "benchmarks: train | allreduce | grow | checkpoint | calibrate"},
    {"export", sprout::launch::run_export, "a checkpoint's model for PyTorch (safetensors or pt)"},
    {"import", sprout::launch::run_import, "a PyTorch state dict (safetensors) as a sprout checkpoint"},
    {"plan", sprout::launch::run_plan, "per-rank memory and predicted step time from 1 to 1024 ranks"},
};

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: sprout <command> [options]   (sprout <command> --help for its options)\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\nrun under MPI: mpirun -np 2 sprout train --config launch/configs/quickstart.ini\n");
}

}  // namespace

int main(int argc, char** argv) {
  sprout::runtime::MpiEnvironment env(&argc, &argv);
  auto world = env.world();
  sprout::runtime::RuntimeContext ctx{world.get(), env.local_rank(), env.local_size()};
  const bool root = ctx.is_root();

  std::vector<std::string> args(argv + 1, argv + argc);
  // The first collective: bounded, and ranks started differently end here (rank_agreement.h).
  if (const int status = sprout::launch::agree_invocation(*world, args)) return status;
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (root) print_usage(stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    if (root) std::printf("sprout 0.1.0\n");
    return 0;
  }
  const Command* command = nullptr;
  for (const auto& c : kCommands) {
    if (args[0] == c.name) command = &c;
  }
  if (!command) {
    if (root) std::fprintf(stderr, "sprout: rank 0: unknown command '%s' (see sprout --help)\n", args[0].c_str());
    return 2;
  }
  args.erase(args.begin());
  try {
    return command->run(ctx, args);
  } catch (const sprout::launch::AgreedExit& e) {
    return e.status();
  } catch (const std::exception& e) {
    const int code = dynamic_cast<const sprout::ConfigError*>(&e) ? 2 : 1;
    // One line, even for LibTorch's errors (which carry a backtrace) and allocation failures.
    sprout::runtime::MpiEnvironment::abort_job(
        sprout::concat("sprout: rank ", ctx.rank(), ": ", sprout::runtime::error_line(e)), code);
  }
}
