// `sprout fedcl`: federated continual learning — node groups learn tasks of a
// class-incremental split, their experts are merged collectively by each method, and every
// merged model is evaluated on every task seen so far (Note [Federated continual-learning
// run] in launch/fedcl/runner.h).
#include <cstdio>
#include <fstream>

#include "launch/cli/rank_agreement.h"
#include "launch/cli/commands.h"
#include "launch/fedcl/files.h"
#include "launch/fedcl/runner.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  SPROUT_CHECK(out.good(), Error, "fedcl.report: cannot write '", path, "'");
}

}  // namespace

int run_fedcl(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  const auto table = fedcl_option_table();
  Options options;
  FedclConfig config;
  bool help = false;
  agree(*ctx.comm, [&] {
    options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    expect_arguments(options, "fedcl", {});
    config = read_fedcl_config(options, ctx.size());
    FedclFiles(config.save_dir).refuse_overwriting(config.base, "fedcl.base", config.plan.num_rounds(),
                                                   config.plan.num_tasks(),
                                                   config.split == "tasks" ? 0 : config.clients, config.methods);
  });
  if (help) {
    if (ctx.is_root()) {
      std::printf("%s", format_help(table, "usage: mpirun -np N sprout fedcl [--config FILE] [--section.key VALUE ...]")
                            .c_str());
    }
    return 0;
  }
  agree_config(*ctx.comm, config.text);

  const FedclReport report = simulate_fedcl(ctx, config);
  if (ctx.is_root()) {
    std::printf("\n%s", markdown_table(report).c_str());
    if (!config.report.empty()) {
      write_file(config.report + ".json", to_json(report).str() + "\n");
      write_file(config.report + ".csv", to_csv(report));
      write_file(config.report + "-rounds.csv", rounds_csv(report));
      std::printf("\nwrote %s.json, %s.csv and -rounds.csv (plot: /usr/bin/python3 launch/scripts/fedcl_plot.py %s.json)\n",
                  config.report.c_str(), config.report.c_str(), config.report.c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
