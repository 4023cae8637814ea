// The subcommands of `sprout`. Each lives in its own file (cmd_<name>.cpp) and is listed
// once in the table in main.cpp.
#pragma once

#include <string>
#include <vector>

#include "runtime/context.h"

namespace sprout::launch {

using CommandFn = int (*)(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);

struct Command {
  const char* name;
  CommandFn run;
  const char* summary;
};

int run_train(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);
int run_fedcl(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);
int run_merge(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // cmd_merge.cpp
int run_inspect(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // cmd_inspect.cpp
int run_bench_checkpoint(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // bench_checkpoint.cpp
int run_eval(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // cmd_eval.cpp
int run_bench(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // launch/cli/cmd_bench.cpp
int run_export(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // cmd_export.cpp
int run_import(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // cmd_import.cpp
int run_plan(runtime::RuntimeContext& ctx, const std::vector<std::string>& args);  // launch/cli/cmd_plan.cpp

}  // namespace sprout::launch
