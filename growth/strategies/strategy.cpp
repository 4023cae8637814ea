#include "growth/strategies/strategy.h"

#include <cmath>

#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

// One file per strategy.
std::unique_ptr<Strategy> make_gradmax();
std::unique_ptr<Strategy> make_random();
std::unique_ptr<Strategy> make_zeros();
std::unique_ptr<Strategy> make_net2net();
std::unique_ptr<Strategy> make_vt();

namespace {

// The settings a strategy reads besides the event itself.
void fan_out_norm_settings(runtime::SettingSink& s, StrategyOptions& o) {
  s.add("scale", &o.scale, "gradmax/random: norm of each new fan-out column (see growth.scale_mode)");
  s.add("scale_mode", &o.scale_mode, "fixed (c = scale) | mean_norm (c = scale x mean norm of existing fan-outs)");
}
void net2net_settings(runtime::SettingSink& s, StrategyOptions& o) {
  s.add("noise", &o.noise, "net2net: noise on copied fan-in rows, relative to the producer's weight std");
}

struct Entry {
  const char* name;
  std::unique_ptr<Strategy> (*make)();
  void (*settings)(runtime::SettingSink&, StrategyOptions&);  // null: none of its own
};

const Entry kStrategies[] = {
    {"gradmax", make_gradmax, fan_out_norm_settings}, {"random", make_random, fan_out_norm_settings},
    {"zeros", make_zeros, nullptr},   {"net2net", make_net2net, net2net_settings},
    {"vt", make_vt, nullptr},
};

uint64_t mix(uint64_t h, uint64_t v) {
  // SplitMix64 finaliser over an FNV-style chain: portable and well spread.
  uint64_t z = (h ^ v) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> out;
  for (const auto& e : kStrategies) out.emplace_back(e.name);
  return out;
}

void declare_strategy_settings(runtime::SettingSink& sink, StrategyOptions& options) {
  for (const auto& e : kStrategies) {
    if (e.settings) e.settings(sink, options);
  }
}

std::unique_ptr<Strategy> make_strategy(const std::string& name) {
  for (const auto& e : kStrategies) {
    if (name == e.name) return e.make();
  }
  std::string known;
  for (const auto& n : strategy_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(concat("--growth.strategy: unknown strategy '", name, "' (expected one of ", known, ")"));
}

void validate(const StrategyOptions& o) {
  SPROUT_CHECK(std::isfinite(o.scale) && o.scale > 0, ConfigError, "--growth.scale: ", o.scale, " must be > 0");
  SPROUT_CHECK(o.scale_mode == "fixed" || o.scale_mode == "mean_norm", ConfigError, "--growth.scale_mode: '",
               o.scale_mode, "' is not fixed or mean_norm");
  SPROUT_CHECK(std::isfinite(o.noise) && o.noise >= 0, ConfigError, "--growth.noise: ", o.noise, " must be >= 0");
}

double fan_out_norm(const StrategyOptions& o, const torch::Tensor& fan_out) {
  if (o.scale_mode == "fixed" || fan_out.size(0) == 0) return o.scale;
  const double mean = fan_out.to(torch::kFloat64).norm(2, {1}).mean().item<double>();
  return o.scale * mean;
}

double fan_out_norm(const StrategyOptions& o, const SiteTensors& old) { return fan_out_norm(o, old.fan_out); }

std::string refuse_groups(const WidthSite& site, const std::string& strategy_reason) {
  if (site.inner()) return "";
  return concat("it is a ", site.group_kind(), " group and ", strategy_reason);
}

std::string refuse_normalised(const WidthSite& site) {
  if (!site.normalised_over_units) return "";
  return "a LayerNorm normalises over its units, so zero-valued new units change every token's mean and variance "
         "(the function is not kept); net2net by a multiple of its width keeps it";
}

uint64_t event_seed(uint64_t train_seed, int64_t step, const std::string& site) {
  uint64_t h = mix(0x6772'6f77'7468ULL, train_seed);  // "growth"
  h = mix(h, static_cast<uint64_t>(step));
  for (char c : site) h = mix(h, static_cast<uint8_t>(c));
  return h;
}

void check_accepts(const Strategy& strategy, const WidthSite& site, int64_t add) {
  const std::string why = strategy.refusal_to_add(site, add);
  SPROUT_CHECK(why.empty(), ConfigError, "--growth.strategy ", strategy.name(), " cannot grow site ", site.name, ": ",
               why);
}

runtime::SurgeryPlan grow(runtime::Surgery& surgery, Strategy& strategy, GrowthContext& ctx, int64_t step,
                          uint64_t seed) {
  SPROUT_CHECK(ctx.model && ctx.comm, Error, "grow: context without model or communicator");
  check_accepts(strategy, ctx.site, ctx.add);  // the same verdict on every rank, before any collective
  SPROUT_CHECK(ctx.add > 0, ConfigError, "growth at site ", ctx.site.name, ": must add > 0 units, got ", ctx.add);
  SPROUT_CHECK(!strategy.needs_batch() || ctx.batch, Error, "grow: strategy ", strategy.name(), " needs a batch");
  surgery.quiesce(step);
  surgery.decide(concat("grow ", ctx.site.name, " ", ctx.site.width, " +", ctx.add, " ", strategy.name()));
  strategy.gather(ctx);
  auto plan = surgery.compute_on_root([&] {
    auto gen = compat::make_generator(seed);
    torch::NoGradGuard no_grad;
    return strategy.plan(ctx, gen);
  });
  surgery.apply(plan);
  surgery.commit();
  return plan;
}

}  // namespace sprout::growth
