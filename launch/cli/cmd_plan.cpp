// `sprout plan`: per-rank memory and predicted step time of a training run on 1 … N ranks,
// from a calibration file (launch/plan/). Every rank computes; rank 0 prints.
#include <cstdio>

#include "launch/cli/commands.h"
#include "launch/cli/rank_agreement.h"
#include "launch/plan/plan_report.h"
#include "runtime/error.h"

namespace sprout::launch {

int run_plan(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  const auto table = plan_option_table();
  Options options;
  PlanConfig config;
  bool help = false;
  agree(*ctx.comm, [&] {
    options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    expect_arguments(options, "plan", {});
    config = read_plan_config(options);
  });
  if (help) {
    if (ctx.is_root()) {
      std::printf("%s", format_help(table, "usage: sprout plan --plan.calibration FILE [--plan.* ...] [train options]").c_str());
    }
    return 0;
  }
  Plan plan;
  agree(*ctx.comm, [&] { plan = make_plan(config); });  // a plan that cannot fit: one line, status 2
  if (ctx.is_root()) {
    print_plan(plan, config);
    if (!config.plan.out.empty()) write_plan_files(plan, config.plan.out);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
