// `sprout bench <name> [options]`: dispatches to one benchmark of the table below.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <string>

#include "launch/cli/rank_agreement.h"
#include "launch/bench/bench.h"
#include "launch/cli/commands.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

const BenchCommand kBenches[] = {
    {"train", bench_train, "training throughput on the PyTorch DDP anchor's workload"},
    {"allreduce", bench_allreduce, "bucketed gradient allreduce vs plain MPI_Allreduce, 8 B .. 64 MB"},
    {"grow", bench_grow, "step time right after a parameter grows (bucket rebuild) vs normal steps"},
    {"checkpoint", run_bench_checkpoint, "checkpoint write/read MB/s beside a plain sequential write"},
    {"calibrate", bench_calibrate, "compute, link, collective and checkpoint rates for sprout plan (JSON)"},
};

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: sprout bench <name> [options]   (sprout bench <name> --help for its options)\n\n");
  for (const auto& b : kBenches) std::fprintf(out, "  %-10s %s\n", b.name, b.summary);
}

}  // namespace

int run_bench(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    if (ctx.is_root()) print_usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  for (const auto& b : kBenches) {
    if (args[0] == b.name) return b.run(ctx, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (ctx.is_root()) std::fprintf(stderr, "sprout: rank 0: unknown benchmark '%s' (see sprout bench --help)\n", args[0].c_str());
  return 2;
}

bool parse_bench_options(runtime::RuntimeContext& ctx, const OptionTable& table, const std::vector<std::string>& args,
                         const std::string& usage, Options& out, void (*check)(const Options&)) {
  bool help = false;
  agree(*ctx.comm, [&] {
    out = Options::parse(table, args);
    help = out.help();
    if (help) return;
    expect_arguments(out, "bench", {});
    if (check) check(out);
  });
  if (help && ctx.is_root()) std::printf("%s", format_help(table, usage).c_str());
  return !help;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double process_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace sprout::launch
