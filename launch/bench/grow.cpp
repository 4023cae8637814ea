// `sprout bench grow`: what a parameter-set change costs the engine. After warm-up, each of
// `--events` growth events widens site fc1 by `--grow` units the way surgery does (new
// leaf tensors via ParamSet::set_parameter, optimizer state via resize_state), then times
// the steps that follow. The first of them pays the bucket rebuild, the new buffers and
// the re-registered hooks; it is compared with the median of the later ones (same model).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "launch/cli/rank_agreement.h"
#include "launch/bench/bench.h"
#include "launch/bench/workload.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {

namespace {

OptionTable grow_table() {
  auto t = workload_option_table();
  for (auto& o : t) {
    if (o.name == "steps") o = {"steps", "20", "timed steps after each growth event"};
  }
  for (auto& o : t) {
    if (o.name == "model") o.help = "mlp (784-H-H-10) | cnn (conv 32, conv 64, H, 10)";
  }
  t.push_back({"grow", "128", "units added to fc1 per event"});
  t.push_back({"events", "5", "growth events"});
  return t;
}

void check_grow(const Options& o) {
  check_workload(o);
  const std::string model = o.get("model");
  SPROUT_CHECK(model == "mlp" || model == "cnn", ConfigError, "--model: '", model,
               "': bench grow widens fc1, which only mlp and cnn have");
  SPROUT_CHECK(o.get_int("grow") > 0, ConfigError, "--grow: ", o.get_int("grow"), " must be > 0");
  SPROUT_CHECK(o.get_int("events") > 0, ConfigError, "--events: ", o.get_int("events"), " must be > 0");
  SPROUT_CHECK(o.get_int("steps") >= 2, ConfigError, "--steps: ", o.get_int("steps"), " must be >= 2");
}

// Site fc1 gets `units` more outputs: rows of fc1.weight / fc1.bias, columns of
// fc2.weight (zeros), exactly as growth surgery replaces tensors.
void widen_fc1(Trainer& trainer, int64_t units) {
  torch::NoGradGuard no_grad;
  auto& params = trainer.model().params();
  auto& opt = trainer.optimizer();
  const auto w1 = params.parameter("fc1.weight").detach();  // (H, in)
  const auto w2 = params.parameter("fc2.weight").detach();  // (out, H)
  const int64_t h = w1.size(0) + units;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> changes = {
      {"fc1.weight", {h, w1.size(1)}}, {"fc1.bias", {h}}, {"fc2.weight", {w2.size(0), h}}};
  for (const auto& [name, shape] : changes) {
    params.set_parameter(name, runtime::resize_keep(params.parameter(name).detach(), shape, 0.0));
    opt.resize_state(name, shape);
  }
}

}  // namespace

int bench_grow(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  Options o;
  const auto table = grow_table();
  if (!parse_bench_options(ctx, table, args, "usage: sprout bench grow [--model mlp|cnn] [--hidden H] [--grow U]", o,
                           check_grow)) {
    return 0;
  }
  TrainConfig config = workload_config(o);
  config.train.steps = o.get_int("warmup") + (o.get_int("events") + 1) * o.get_int("steps");
  Trainer trainer(ctx, config);
  agree(*ctx.comm, [&] { trainer.prepare(); });
  ctx.comm->set_phase("bench: broadcast");
  trainer.engine().broadcast_state(0);
  for (int64_t i = 0; i < o.get_int("warmup"); ++i) trainer.train_step();
  const int64_t steps = o.get_int("steps");
  const double before = median(timed_steps(trainer, steps));
  std::vector<double> ratios, firsts, normals, surgeries;
  for (int64_t e = 0; e < o.get_int("events"); ++e) {
    ctx.comm->barrier();
    const auto t0 = std::chrono::steady_clock::now();
    widen_fc1(trainer, o.get_int("grow"));
    surgeries.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    auto t = timed_steps(trainer, steps);
    const double normal = median(std::vector<double>(t.begin() + 1, t.end()));
    firsts.push_back(t[0]);
    normals.push_back(normal);
    ratios.push_back(t[0] / normal);
  }
  if (ctx.is_root()) {
    std::printf("sprout-grow world=%d model=%s hidden=%lld->%lld batch=%lld events=%lld before_ms=%.2f "
                "first_after_ms=%.2f after_ms=%.2f surgery_ms=%.2f ratio_median=%.2f ratio_max=%.2f rebuilds=%lld\n",
                ctx.size(), config.model.kind.c_str(), static_cast<long long>(o.get_int("hidden")),
                static_cast<long long>(trainer.model().params().parameter("fc1.bias").size(0)),
                static_cast<long long>(config.train.batch), static_cast<long long>(o.get_int("events")),
                1000 * before, 1000 * median(firsts), 1000 * median(normals), 1000 * median(surgeries),
                median(ratios), *std::max_element(ratios.begin(), ratios.end()),
                static_cast<long long>(trainer.engine().rebuilds()));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
