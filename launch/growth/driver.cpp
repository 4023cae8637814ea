#include "launch/growth/driver.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "data/random.h"
#include "growth/depth.h"
#include "growth/strategies/gradient_statistics.h"
#include "launch/growth/auto_driver.h"
#include "launch/checkpoint/checkpointer.h"
#include "launch/train/trainer.h"
#include "runtime/error.h"
#include "runtime/fault_injection.h"
#include "runtime/surgery/surgery.h"

namespace sprout::launch {

GrowthDriver::GrowthDriver(const GrowthConfig& config, const growth::Model& model, int64_t total_steps,
                           uint64_t seed)
    : config_(config), seed_(seed) {
  std::vector<std::pair<std::string, int64_t>> start;
  for (const auto& s : model.sites()) start.emplace_back(s.name, s.width);
  auto events = config.events;
  const growth::ArchSpec arch = model.arch();
  const auto* depth = growth::depth_family(arch.kind);
  const auto places = depth ? depth->depth_places(arch) : std::vector<std::string>{};
  if (!config.compact.depth_target.empty()) {  // the compact schedule's blocks, before its widths
    SPROUT_CHECK(depth, ConfigError, "--growth.depth_target: model.kind ", arch.kind, " cannot grow in depth (",
                 growth::depth_kinds(), " can)");
    std::map<std::string, int64_t> blocks;  // at each place now
    for (const auto& p : places) blocks[p] = depth->add_block(arch, p).blocks_at_place - 1;
    for (auto& e : growth::expand_depth(config.compact, blocks, depth->depth_unit())) events.push_back(e);
  }
  for (auto& e : growth::expand(config.compact, start)) events.push_back(e);
  // Width events may name the groups of blocks that depth events add before them: checked
  // against the model with every block of the schedule (built only when there are some).
  growth::ArchSpec deepest = arch;
  auto by_step = events;
  std::stable_sort(by_step.begin(), by_step.end(),
                   [](const growth::GrowthEvent& a, const growth::GrowthEvent& b) { return a.step < b.step; });
  for (const auto& e : by_step) {
    if (!e.depth) continue;
    growth::validate_events({e}, {}, total_steps, places);                // place, count, step: one line
    const std::string unit = depth->depth_unit();  // "block" or "layer": the event must say which it adds
    SPROUT_CHECK(e.unit.empty() || e.unit == unit, ConfigError, "--growth.event: '", e.text, "': model.kind ",
                 arch.kind, " grows in depth by ", unit, "s (write +", e.add, unit, ")");
    growth::check_depth_accepts(config.strategy, deepest, e.site);        // the strategy: one line
    deepest = growth::add_blocks(deepest, e.site, e.add).back().arch;
  }
  const auto grown = deepest == arch ? nullptr : growth::build_model(deepest, seed);
  const growth::Model& all = grown ? *grown : model;
  events_ = growth::validate_events(std::move(events), all.group_names(), total_steps, places);  // any width group
  const auto strategy = growth::make_strategy(config.strategy);
  for (const auto& e : events_) {
    if (!e.depth) growth::check_accepts(*strategy, all.site(e.site), e.add);  // before step 0
  }
  target_ = growth::final_widths(events_, all.group_widths());
  if (config.automatic.enabled) auto_ = std::make_unique<AutoGrowth>(config, model, seed);
}

GrowthDriver::~GrowthDriver() = default;

void GrowthDriver::after_step(Trainer& trainer, double loss) {
  if (auto_) auto_->record_loss(trainer, loss);
}

growth::GrowthBatch GrowthDriver::growth_batch(const data::DataSplits& data, uint64_t seed, int64_t step,
                                               int64_t global, int rank, int world) {
  const int64_t n = data.train.size();
  global = std::min(global, n);
  // Partial Fisher–Yates with a portable generator: the same examples on every rank and
  // in every run with this (seed, step), whatever the sampler's position.
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  data::SplitMix64 rng(growth::event_seed(seed, step, "growth batch"));
  for (int64_t i = 0; i < global; ++i) {
    const auto j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i)));
    std::swap(perm[i], perm[j]);
  }
  const int64_t lo = global * rank / world, hi = global * (rank + 1) / world;
  auto idx = torch::tensor(std::vector<int64_t>(perm.begin() + lo, perm.begin() + hi), torch::kInt64);
  growth::GrowthBatch b;
  b.x = data::to_input(data.train.gather(idx), data.norm);    // (b, C, H, W)
  b.y = data.train.labels.index_select(0, idx);                                             // (b)
  b.global_size = global;
  return b;
}

void GrowthDriver::before_step(Trainer& trainer, Progress& progress) {
  if (auto_) {
    // A run resumed from this step's pre-growth checkpoint decides again, the same way (the
    // detector's state is in the checkpoint); from its post-growth one, the detector
    // already knows it grew.
    const auto event = auto_->decide(trainer, progress);
    if (!event) return;
    checkpoint_around_growth(trainer, "pre-growth");
    if (event->depth) {
      run_depth_event(trainer, progress, *event, auto_->depth_strategy());
    } else {
      run_event(trainer, progress, *event);
    }
    auto_->grew(event->step);
    checkpoint_around_growth(trainer, "post-growth");
    return;
  }
  while (next_ < events_.size() && events_[next_].step < trainer.step()) ++next_;
  // A run resumed from a post-growth checkpoint of this step has already applied some of
  // its events: they are in the restored history (matched on step and site, in order).
  std::vector<const growth::GrowthEvent*> due;
  size_t done = 0;
  for (const auto& r : trainer.growth_history()) done += r.step == trainer.step() ? 1 : 0;
  for (; next_ < events_.size() && events_[next_].step == trainer.step(); ++next_) {
    if (done > 0) {
      --done;
      continue;
    }
    due.push_back(&events_[next_]);
  }
  if (due.empty()) return;
  checkpoint_around_growth(trainer, "pre-growth");
  for (const auto* e : due) {
    if (e->depth) {
      run_depth_event(trainer, progress, *e, config_.strategy);
    } else {
      run_event(trainer, progress, *e);
    }
  }
  checkpoint_around_growth(trainer, "post-growth");
}

void GrowthDriver::run_event(Trainer& trainer, Progress& progress, const growth::GrowthEvent& e) {
  auto& comm = *trainer.context().comm;
  auto& model = trainer.model();
  const std::string context = concat("growth step ", e.step, " ", e.site);
  comm.set_phase(context);
  runtime::inject_test_fault("growth", e.step, comm.rank());  // TEST ONLY (SPROUT_TEST_FAULT)
  const auto t0 = std::chrono::steady_clock::now();

  auto strategy = growth::make_strategy(config_.strategy);
  const auto batch = growth_batch(trainer.data(), seed_, e.step, config_.batch, comm.rank(), comm.size());
  growth::GrowthContext ctx;
  ctx.comm = &comm;
  ctx.model = &model;
  ctx.site = model.site(e.site);
  ctx.add = e.add;
  ctx.batch = &batch;
  ctx.options = config_.options;
  ctx.optimizer = &trainer.optimizer();
  ctx.initial_widths = model.group_widths();
  for (auto it = trainer.growth_history().rbegin(); it != trainer.growth_history().rend(); ++it) {
    if (growth::is_depth_record(*it)) continue;
    ctx.initial_widths[it->site] = it->old_width;  // oldest record per site wins
  }
  runtime::SurgeryOptions so;
  so.context = context;
  so.test_corrupt_rank = runtime::test_corrupt_rank_from_env();
  runtime::Surgery surgery(comm, model.params(), &trainer.optimizer(), so);
  growth::grow(surgery, *strategy, ctx, e.step, growth::event_seed(seed_, e.step, e.site));
  const double local_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  growth::GrowthRecord r;
  r.step = trainer.step();  // equal to e.step by construction; recorded from the loop itself
  r.site = e.site;
  r.strategy = config_.strategy;
  r.old_width = ctx.site.width;
  r.new_width = model.site(e.site).width;
  r.seconds = runtime::allreduce_scalar(comm, local_s, runtime::ReduceOp::Max);  // same record on every rank
  r.grad_norm = growth::new_fan_in_grad_norm(comm, model, model.site(e.site), r.old_width, batch);
  trainer.growth_history().push_back(r);

  runtime::JsonObject widths;
  for (const auto& [site, w] : model.group_widths()) widths.add(site, w);
  runtime::JsonObject j;
  j.add("event", "growth").add("step", r.step).add("site", r.site).add("strategy", r.strategy)
      .add("old_width", r.old_width).add("new_width", r.new_width).add("seconds", r.seconds)
      .add("grad_norm", r.grad_norm).add("widths", widths);
  char line[256];
  std::snprintf(line, sizeof line, "growth step %lld  %s %lld -> %lld  %s  %.3f s  growth gradient norm %.4g",
                static_cast<long long>(r.step), r.site.c_str(), static_cast<long long>(r.old_width),
                static_cast<long long>(r.new_width), r.strategy.c_str(), r.seconds, r.grad_norm);
  progress.event(line, &j);
}

}  // namespace sprout::launch

namespace sprout::launch {

void GrowthDriver::run_depth_event(Trainer& trainer, Progress& progress, const growth::GrowthEvent& e,
                                   const std::string& strategy) {
  auto& comm = *trainer.context().comm;
  auto& model = trainer.model();
  const std::string context = concat("growth step ", e.step, " ", e.site, " +", e.add, " block");
  comm.set_phase(context);
  runtime::inject_test_fault("growth", e.step, comm.rank());  // TEST ONLY (SPROUT_TEST_FAULT)
  const auto batch = growth_batch(trainer.data(), seed_, e.step, config_.batch, comm.rank(), comm.size());
  // The function before and after (eval mode, the growth batch): what the event promises to keep.
  auto logits = [&] {
    torch::NoGradGuard no_grad;
    return batch.x.size(0) > 0 ? model.forward(batch.x, false).detach() : torch::Tensor();
  };
  const auto before = logits();
  const auto t0 = std::chrono::steady_clock::now();
  runtime::SurgeryOptions so;
  so.context = context;
  so.test_corrupt_rank = runtime::test_corrupt_rank_from_env();
  runtime::Surgery surgery(comm, model.params(), &trainer.optimizer(), so);
  const auto blocks = growth::grow_depth(surgery, model, e.site, e.add, strategy, e.step,
                                         growth::event_seed(seed_, e.step, growth::depth_record_site(e.site)),
                                         &trainer.optimizer(), &batch, config_.options);
  const double local_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  growth::GrowthRecord r;
  r.step = trainer.step();
  r.site = growth::depth_record_site(e.site);
  r.strategy = strategy;
  r.old_width = blocks.front().blocks_at_place - 1;
  r.new_width = blocks.back().blocks_at_place;
  r.seconds = runtime::allreduce_scalar(comm, local_s, runtime::ReduceOp::Max);
  const auto after = logits();
  const double change = runtime::allreduce_scalar(
      comm, before.defined() ? (after - before).abs().max().item<double>() : 0.0, runtime::ReduceOp::Max);
  const double scale = runtime::allreduce_scalar(comm, before.defined() ? before.abs().max().item<double>() : 0.0,
                                                 runtime::ReduceOp::Max);
  std::vector<std::string> zero;
  std::string names;
  for (const auto& b : blocks) {
    const auto z = growth::zero_started(b, strategy);
    zero.insert(zero.end(), z.begin(), z.end());
    names += (names.empty() ? "" : ",") + b.prefix;
  }
  r.grad_norm = growth::parameters_grad_norm(comm, model, zero, batch);
  trainer.growth_history().push_back(r);

  runtime::JsonObject j;
  j.add("event", "growth").add("step", r.step).add("site", r.site).add("strategy", r.strategy)
      .add("old_blocks", r.old_width).add("new_blocks", r.new_width).add("blocks", names)
      .add("seconds", r.seconds).add("grad_norm", r.grad_norm)
      .add("function_change", scale > 0 ? change / scale : change)  // max |Δ logit| / max |logit|
      .add("arch", model.arch().serialize());
  char line[320];
  const std::string unit = growth::depth_family(model.arch().kind)->depth_unit() + "s";  // blocks, or layers
  std::snprintf(line, sizeof line, "growth step %lld  %s %s %lld -> %lld (%s)  %s  %.3f s  growth gradient norm %.4g",
                static_cast<long long>(r.step), e.site.c_str(), unit.c_str(), static_cast<long long>(r.old_width),
                static_cast<long long>(r.new_width), names.c_str(), r.strategy.c_str(), r.seconds, r.grad_norm);
  progress.event(line, &j);
}

}  // namespace sprout::launch
