// `sprout merge`: merges expert checkpoints into one checkpoint, offline, streaming tensor
// by tensor and splitting the tensors across ranks under mpirun (merge/offline_merge.h).
//   sprout merge --method magmax --base base.h5 --experts e1.h5,e2.h5 --out merged.h5 [--lambda L]
#include <cstdio>

#include "launch/cli/rank_agreement.h"
#include "launch/cli/commands.h"
#include "launch/cli/options.h"
#include "merge/method.h"
#include "merge/offline_merge.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

OptionTable merge_option_table() {
  return {
      {"method", "", "merge method: magmax | average | task_arithmetic | ties"},
      {"base", "", "checkpoint of the shared base theta_0 the experts were fine-tuned from"},
      {"experts", "", "expert checkpoints, comma-separated (or the option repeated)", true},
      {"out", "", "the merged checkpoint to write"},
      {"lambda", "", "scaling coefficient (default: the method's reference value; average has none)"},
      {"ties.density", "0.2", "ties: fraction of each tensor's task vector kept"},
  };
}

}  // namespace

int run_merge(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  const auto table = merge_option_table();
  Options options;
  merge::OfflineMergeOptions m;
  bool help = false;
  agree(*ctx.comm, [&] {
    options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    SPROUT_CHECK(options.positional().empty(), ConfigError, "merge: unexpected argument '",
                 options.positional().front(), "'");
    for (const char* required : {"method", "base", "experts", "out"}) {
      SPROUT_CHECK(options.has(required), ConfigError, "--", required, " is required (see sprout merge --help)");
    }
    m.method = options.get("method");
    m.base = options.get("base");
    m.out = options.get("out");
    for (const auto& item : options.get_all("experts")) {
      Options one = Options::defaults({{"experts", item, ""}});
      for (const auto& path : one.get_string_list("experts")) m.experts.push_back(path);
    }
    if (options.has("lambda")) m.merge.lambda = options.get_double("lambda");
    m.merge.density = options.get_double("ties.density");
  });
  if (help) {
    if (ctx.is_root()) {
      std::printf("%s", format_help(table, "usage: sprout merge --method M --base B.h5 --experts E1.h5,E2.h5 "
                                           "--out OUT.h5 [--lambda L] [--ties.density D]")
                            .c_str());
    }
    return 0;
  }
  agree_config(*ctx.comm, options.canonical_text());

  merge::OfflineMergeResult r;
  try {
    r = merge::merge_checkpoint_files(*ctx.comm, m);  // errors are agreed: every rank throws the same
  } catch (const Error& e) {
    if (ctx.is_root()) {
      std::fprintf(stderr, "sprout: rank 0: %s\n", e.what());
      std::fflush(stderr);
    }
    throw AgreedExit(dynamic_cast<const ConfigError*>(&e) ? 2 : 1);
  }
  if (ctx.is_root()) {
    // average takes no λ (it is the mean): say so rather than print the 1/n it uses.
    const std::string lambda =
        merge::make_merge_method(m.method)->takes_lambda() ? concat(" (lambda ", r.lambda, ")") : "";
    std::printf("merged %zu experts with %s%s: %lld tensors over %d ranks -> %s\n", m.experts.size(),
                m.method.c_str(), lambda.c_str(), static_cast<long long>(r.tensors), ctx.size(), m.out.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
