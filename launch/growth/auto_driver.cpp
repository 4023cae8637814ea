#include "launch/growth/auto_driver.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "growth/auto_depth.h"
#include "growth/depth.h"
#include "growth/strategies/gradient_statistics.h"
#include "growth/strategies/strategy.h"
#include "launch/growth/driver.h"
#include "launch/train/trainer.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

// Every rank must hold the same `values` (they come from allreduced numbers); one MAX
// allreduce of (v, −v) gives the largest and smallest of each, which differ when a rank
// disagrees. Every rank then throws the same error, so none waits for another.
void check_same_on_every_rank(runtime::Communicator& comm, const std::vector<double>& values, const std::string& what) {
  const int64_t n = static_cast<int64_t>(values.size());
  auto t = torch::empty({2 * n}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) {
    t[i] = values[i];
    t[n + i] = -values[i];
  }
  comm.allreduce(t, runtime::ReduceOp::Max);
  for (int64_t i = 0; i < n; ++i) {
    const double hi = t[i].item<double>(), lo = -t[n + i].item<double>();
    const bool same = hi == lo || (std::isnan(hi) && std::isnan(lo));
    SPROUT_CHECK(same, Error, "automatic growth: ranks disagree on ", what, " (value ", i, ": ", lo, " on one rank, ",
                 hi, " on another)");
  }
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

AutoGrowth::AutoGrowth(const GrowthConfig& config, const growth::Model& model, uint64_t seed)
    : config_(config),
      seed_(seed),
      settings_(config.automatic.plateau),
      detector_(settings_),
      cost_(growth::parse_cost_measure(config.automatic.cost)) {
  const auto& a = config.automatic;
  auto asked = [&](const char* kind) { return std::find(a.kinds.begin(), a.kinds.end(), kind) != a.kinds.end(); };
  const auto strategy = growth::make_strategy(config.strategy);
  const auto all = model.group_names();
  for (const auto& name : a.sites) {
    SPROUT_CHECK(std::find(all.begin(), all.end(), name) != all.end(), ConfigError, "--growth.auto_sites: unknown width group '",
                 name, "' (this model has: ", join(all), ")");
    const auto site = model.site(name);
    const std::string why = site.group == growth::WidthSite::Group::Residual
                                ? "it is a residual group, for which GradMax's bound is not derived"
                                : strategy->refusal(site);
    SPROUT_CHECK(why.empty(), ConfigError, "--growth.auto_sites: ", name, " cannot grow automatically: ", why);
  }
  const auto groups = width_groups(model);
  // Blocks join where the family grows in depth by GradMax (whose bound is the score); asked
  // for explicitly on another family, they are refused.
  const std::string no_depth = growth::depth_candidate_refusal(model.arch().kind);
  SPROUT_CHECK(!asked("depth") || no_depth.empty(), ConfigError, "--growth.auto_kinds: depth, but ", no_depth);
  depth_ = (a.kinds.empty() || asked("depth")) && no_depth.empty();
  // The depth event's strategy: growth.strategy where it adds blocks, else GradMax, which
  // realises the bound the block was chosen by.
  depth_strategy_ = growth::depth_refusal(config.strategy, model.arch().kind).empty() ? config.strategy : "gradmax";
  SPROUT_CHECK(!groups.empty() || depth_, ConfigError, "--growth.auto: true, but --growth.strategy ", config.strategy,
               " can grow none of this model's inner sites or heads groups (", join(all), ")",
               no_depth.empty() ? " and --growth.auto_kinds excludes depth" : "");
  const auto size = growth::model_size(model.arch());
  SPROUT_CHECK(a.max_params == 0 || a.max_params >= size.params, ConfigError, "--growth.max_params: ", a.max_params,
               " is below the model's ", size.params, " parameters at its starting widths");
  SPROUT_CHECK(a.max_macs == 0 || a.max_macs >= size.macs, ConfigError, "--growth.max_macs: ", a.max_macs,
               " is below the model's ", size.macs, " MACs per example at its starting widths");
}

std::vector<std::string> AutoGrowth::width_groups(const growth::Model& model) const {
  const auto& a = config_.automatic;
  if (!a.kinds.empty() && std::find(a.kinds.begin(), a.kinds.end(), "width") == a.kinds.end()) return {};
  const auto strategy = growth::make_strategy(config_.strategy);
  std::vector<std::string> out;
  for (const auto& site : model.groups()) {
    if (!a.sites.empty() && std::find(a.sites.begin(), a.sites.end(), site.name) == a.sites.end()) continue;
    // A candidate needs GradMax's M for its score: inner sites and heads groups have one.
    if (site.group != growth::WidthSite::Group::Residual && strategy->refusal(site).empty()) out.push_back(site.name);
  }
  return out;
}

void AutoGrowth::record_loss(Trainer& trainer, double local_loss) {
  auto& comm = *trainer.context().comm;
  const double loss = runtime::allreduce_scalar(comm, local_loss, runtime::ReduceOp::Avg);  // bitwise equal on every rank
  if (!detector_.add(trainer.step() - 1, loss)) return;
  const auto& s = detector_.state();
  check_same_on_every_rank(comm, {s.last_mean, s.best, static_cast<double>(s.stale), static_cast<double>(s.windows),
                                  static_cast<double>(s.last_growth)},
                           "the plateau detector's state");
}

std::vector<growth::GrowthCandidate> AutoGrowth::candidates(Trainer& trainer) {
  auto& comm = *trainer.context().comm;
  auto& model = trainer.model();
  const auto arch = model.arch();
  const auto strategy = growth::make_strategy(config_.strategy);
  const growth::GrowthBudget budget{config_.automatic.max_params, config_.automatic.max_macs};
  std::vector<growth::GrowthCandidate> out;
  // The groups of the model as it is now: a block added earlier brings its own.
  for (const auto& name : width_groups(model)) {
    const auto site = model.site(name);
    growth::GrowthCandidate c;
    c.name = name;
    c.kind = site.group_kind();
    c.width = site.width;
    growth::size_candidate(arch, c, config_.automatic.fraction, budget, cost_);
    if (c.infeasible.empty()) c.infeasible = strategy->refusal_to_add(site, c.add);
    out.push_back(c);
  }
  if (depth_) {
    for (const auto& place : growth::depth_candidate_places(arch)) {
      out.push_back(growth::size_depth_candidate(arch, place, budget, cost_));
    }
  }
  bool any = false;
  for (const auto& c : out) any = any || c.infeasible.empty();
  if (!any) return out;  // the budget is reached: no statistics needed
  const int64_t step = trainer.step();
  const auto batch = GrowthDriver::growth_batch(trainer.data(), seed_, step, config_.batch, comm.rank(), comm.size());
  for (auto& c : out) {
    if (!c.infeasible.empty()) continue;
    if (c.kind == "depth") {
      c.bound = growth::depth_gradmax_bound(comm, model, c.name, batch,
                                            growth::event_seed(seed_, step, growth::depth_record_site(c.name)));
      continue;
    }
    const auto site = model.site(c.name);
    auto m = site.inner() ? growth::growth_matrix(model, site, batch) : growth::heads_growth_matrix(model, site, batch);
    comm.allreduce(m, runtime::ReduceOp::Sum);  // M of the global growth batch, the same on every rank
    // A new head takes d_h directions of the heads M (its d_h columns of proj), a unit one.
    const int64_t directions = site.inner() ? c.add : c.add * site.consumers.front().unit;
    c.bound = growth::gradmax_bound(m, directions);
  }
  growth::score_candidates(out);
  return out;
}

std::optional<growth::GrowthEvent> AutoGrowth::decide(Trainer& trainer, Progress& progress) {
  const int64_t step = trainer.step();
  // At most one growth per step: a run resumed from this step's post-growth checkpoint has
  // it already (patience 0 and no cooldown would otherwise grow again).
  if (exhausted_ || detector_.state().last_growth == step || !detector_.plateau(step)) return std::nullopt;
  auto& comm = *trainer.context().comm;
  comm.set_phase(concat("automatic growth step ", step));
  const auto cands = candidates(trainer);
  const int best = growth::best_candidate(cands);
  check_same_on_every_rank(comm, {static_cast<double>(best), best >= 0 ? static_cast<double>(cands[best].add) : 0.0},
                           "the group to grow");

  // The evidence: the window loss, every candidate's numbers, the choice.
  const auto& s = detector_.state();
  std::vector<runtime::JsonObject> rows;
  std::string line = concat("auto growth step ", step);
  char buf[256];
  std::snprintf(buf, sizeof buf, "  loss %.4f (mean of %lld steps, best %.4f, %lld windows without a %.3g improvement)",
                s.last_mean, static_cast<long long>(settings_.window), s.best, static_cast<long long>(s.stale),
                settings_.min_delta);
  line += buf;
  for (const auto& c : cands) {
    runtime::JsonObject o;
    o.add("group", c.name).add("kind", c.kind).add("width", c.width).add("add", c.add).add("bound", c.bound)
        .add("cost", c.cost).add("score", c.score).add("params_after", c.params_after).add("macs_after", c.macs_after)
        .add("infeasible", c.infeasible);
    rows.push_back(o);
    std::snprintf(buf, sizeof buf, "  %s %.4g (+%lld%s)%s", c.name.c_str(), c.score, static_cast<long long>(c.add),
                  c.kind == "depth" ? " block" : "", c.infeasible.empty() ? "" : " infeasible");
    line += buf;
  }
  runtime::JsonObject j;
  j.add("event", "auto_growth").add("step", step).add("window_loss", s.last_mean).add("best_loss", s.best)
      .add("window", settings_.window).add("stale_windows", s.stale).add("cost", growth::cost_measure_name(cost_))
      .add("candidates", rows);
  if (best < 0) {
    exhausted_ = true;
    j.add("chosen", "").add("add", int64_t{0});
    line += "  -> none fits growth.max_params / growth.max_macs: growth stops";
    progress.event(line, &j);
    return std::nullopt;
  }
  const auto& c = cands[best];
  const bool depth = c.kind == "depth";
  j.add("chosen", c.name).add("chosen_kind", c.kind).add("add", c.add).add("params_after", c.params_after)
      .add("macs_after", c.macs_after).add("strategy", depth ? depth_strategy_ : config_.strategy);
  std::snprintf(buf, sizeof buf, "  -> %s +%lld%s, %lld params, %lld MACs", c.name.c_str(), static_cast<long long>(c.add),
                depth ? " block" : "", static_cast<long long>(c.params_after), static_cast<long long>(c.macs_after));
  line += buf;
  progress.event(line, &j);
  growth::GrowthEvent e;
  e.step = step;
  e.site = c.name;
  e.add = c.add;
  e.depth = depth;
  e.text = concat(step, ":", c.name, ":+", c.add, depth ? "block" : "");
  return e;
}

runtime::Attributes state_attributes(const growth::PlateauState& s) {
  return {{"window_sum", s.window_sum}, {"window_steps", s.window_steps}, {"best", s.best},
          {"last_mean", s.last_mean},   {"stale", s.stale},               {"windows", s.windows},
          {"last_growth", s.last_growth}};
}

growth::PlateauState state_from_attributes(const runtime::Attributes& a, const std::string& where) {
  growth::PlateauState s;
  s.window_sum = runtime::attr_double(a, "window_sum", where);
  s.window_steps = runtime::attr_int(a, "window_steps", where);
  s.best = runtime::attr_double(a, "best", where);
  s.last_mean = runtime::attr_double(a, "last_mean", where);
  s.stale = runtime::attr_int(a, "stale", where);
  s.windows = runtime::attr_int(a, "windows", where);
  s.last_growth = runtime::attr_int(a, "last_growth", where);
  SPROUT_CHECK(s.window_steps >= 0 && s.stale >= 0 && s.windows >= 0 && s.last_growth >= -1, CheckpointError, where,
               ": bad automatic growth state (window_steps ", s.window_steps, ", stale ", s.stale, ", windows ",
               s.windows, ", last_growth ", s.last_growth, ")");
  return s;
}

}  // namespace sprout::launch
