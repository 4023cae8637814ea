// `sprout bench <name>`: benchmarks that print numbers (speed is measured here, never in
// tests). Each benchmark lives in launch/bench/<name>.cpp and is one line of the table in
// launch/cli/cmd_bench.cpp; rank 0 prints, every rank runs the collectives.
#pragma once

#include <string>
#include <vector>

#include "launch/cli/options.h"
#include "runtime/context.h"

namespace sprout::launch {

using BenchFn = int (*)(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);

struct BenchCommand {
  const char* name;
  BenchFn run;
  const char* summary;
};

int bench_train(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);
int bench_allreduce(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);
int bench_grow(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);
int bench_calibrate(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // calibrate.cpp

// Parses a benchmark's options on every rank and agrees on the outcome (Note [Error
// agreement]); `check` validates them (throws ConfigError). Returns false after printing
// the help text for --help. Collective.
bool parse_bench_options(runtime::RuntimeContext& ctx, const OptionTable& table,
                         const std::vector<std::string>& args, const std::string& usage, Options& out,
                         void (*check)(const Options&));

// Median of `values` (NaN when empty).
double median(std::vector<double> values);

// CPU seconds this process has used, all its threads (CLOCK_PROCESS_CPUTIME_ID): unlike the
// wall clock, it does not grow while other work holds the cores.
double process_cpu_seconds();

}  // namespace sprout::launch
