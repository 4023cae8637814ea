// `sprout merge`: merges expert checkpoints into one checkpoint, offline, streaming tensor
// by tensor and splitting the tensors across ranks under mpirun (merge/offline_merge.h).
//   sprout merge --method magmax --base base.h5 --experts e1.h5,e2.h5 --out merged.h5 [--lambda L]
#include <cstdio>

#include "launch/cli/rank_agreement.h"
#include "launch/cli/commands.h"
#include "launch/cli/option_binder.h"
#include "merge/method.h"
#include "merge/offline_merge.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

std::string method_names_text() {
  std::string out;
  for (const auto& n : merge::merge_method_names()) out += (out.empty() ? "" : " | ") + n;
  return out;
}

void bind_merge_options(OptionBinder& b, merge::OfflineMergeOptions& m) {
  b.add("method", &m.method, "merge method: " + method_names_text());
  b.add("base", &m.base, "checkpoint of the shared base theta_0 the experts were fine-tuned from");
  b.add_parsed("experts", "", "expert checkpoints, comma-separated (or the option repeated)",
               [&m](const std::vector<std::string>& items) {
                 m.experts.clear();
                 for (const auto& item : items) {
                   for (const auto& path : parse_list("experts", item)) m.experts.push_back(path);
                 }
               },
               /*repeatable=*/true);
  b.add("out", &m.out, "the merged checkpoint to write");
  b.add("lambda", &m.merge.lambda, "scaling coefficient (default: the method's reference value; average has none)");
  for (const auto& method : merge::merge_method_names()) {  // ties.density, ...
    OptionBinder::Prefixed section(b, method + ".");
    merge::declare_method_settings(method, section, m.merge);
  }
}

}  // namespace

int run_merge(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  merge::OfflineMergeOptions m;
  m.method.clear();  // required: no default
  OptionBinder binder;
  bind_merge_options(binder, m);
  const auto& table = binder.table();
  Options options;
  bool help = false;
  agree(*ctx.comm, [&] {
    options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    expect_arguments(options, "merge", {});
    for (const char* required : {"method", "base", "experts", "out"}) {
      SPROUT_CHECK(options.has(required), ConfigError, "--", required, " is required (see sprout merge --help)");
    }
    binder.load(options);
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
