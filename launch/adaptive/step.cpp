#include "launch/adaptive/step.h"

#include <chrono>
#include <cstdio>

#include "growth/strategies/strategy.h"
#include "launch/train/trainer.h"
#include "runtime/error.h"
#include "runtime/surgery/surgery.h"

namespace sprout::launch {

namespace {

// The inner sites' widths and those of the adaptive groups (a ResNet's stage).
std::map<std::string, int64_t> adaptive_widths(const growth::Model& model) {
  auto out = model.widths();
  for (const auto& site : growth::adaptive_sites(model)) out[site] = model.site(site).width;
  return out;
}

}  // namespace

AdaptiveStep::AdaptiveStep(Trainer& trainer) : trainer_(trainer) {
  const auto& cfg = trainer_.config().adaptive;
  if (cfg.rate_lr != 1.0) {  // a parameter group of the rates (kept in checkpoints as lr_scale)
    for (const auto& site : growth::adaptive_sites(trainer_.model())) {
      const auto& raw = trainer_.model().params().parameter(growth::rate_parameter(site));
      trainer_.optimizer().set_lr_scale(growth::rate_parameter(site), torch::full_like(raw.detach(), cfg.rate_lr));
    }
  }
}

std::map<std::string, double> AdaptiveStep::rates() const {
  std::map<std::string, double> out;
  const auto& model = trainer_.model();
  for (const auto& site : growth::adaptive_sites(model)) {
    out[site] = growth::rate(model.params().parameter(growth::rate_parameter(site)).detach(),
                             trainer_.config().adaptive.spec.rate_floor).item<double>();
  }
  return out;
}

torch::Tensor AdaptiveStep::forward(const torch::Tensor& x, bool train) {
  growth::ForwardOptions o;
  o.train = train;
  return growth::adaptive_forward(trainer_.model(), x, o, trainer_.config().adaptive.spec.rate_floor);
}

torch::Tensor AdaptiveStep::objective(const torch::Tensor& ce) {
  const auto& cfg = trainer_.config().adaptive;
  const double n = static_cast<double>(trainer_.data().train.size());
  return ce - growth::log_prior(trainer_.model(), cfg.prior, cfg.spec.rate_floor) / n;  // (4)
}

void AdaptiveStep::before_step(Progress& progress) {
  const auto& cfg = trainer_.config().adaptive;
  const int64_t step = trainer_.step();
  if (step == 0 || step % cfg.check_every != 0) return;
  auto& model = trainer_.model();
  auto& comm = *trainer_.context().comm;
  const auto target = growth::target_widths(model, cfg.spec);
  const auto before = adaptive_widths(model);
  bool change = false;
  for (const auto& [site, d] : target) change = change || before.at(site) != d;
  // Note [Adaptive agreement]: enter the surgery together or not at all.
  if (runtime::allreduce_int(comm, change ? 1 : 0, runtime::ReduceOp::Max) == 0) return;

  const std::string context = concat("adaptive step ", step);
  comm.set_phase(context);
  const auto t0 = std::chrono::steady_clock::now();
  runtime::SurgeryOptions so;
  so.context = context;
  so.test_corrupt_rank = runtime::test_corrupt_rank_from_env();
  runtime::Surgery surgery(comm, model.params(), &trainer_.optimizer(), so);
  const auto changed = growth::adapt_widths(surgery, model, target, step, cfg.spec.new_std,
                                            growth::event_seed(trainer_.config().train.seed, step, "adaptive"));
  const double seconds = runtime::allreduce_scalar(
      comm, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), runtime::ReduceOp::Max);

  const auto after = adaptive_widths(model);
  const auto lambda = rates();
  runtime::JsonObject widths, old_widths, rate_json;
  std::string text;
  for (const auto& [site, old] : changed) {
    growth::GrowthRecord r;
    r.step = step;
    r.site = site;
    r.strategy = "adaptive";
    r.old_width = old;
    r.new_width = after.at(site);
    r.seconds = seconds;
    r.grad_norm = 0;
    trainer_.growth_history().push_back(r);
    text += concat("  ", site, " ", old, " -> ", after.at(site));
    old_widths.add(site, old);
  }
  for (const auto& [site, w] : after) widths.add(site, w);
  for (const auto& [site, l] : lambda) rate_json.add(site, l);
  runtime::JsonObject j;
  j.add("event", "adaptive").add("step", step).add("widths", widths).add("old_widths", old_widths)
      .add("rates", rate_json).add("seconds", seconds);
  progress.event(concat("adaptive step ", step, text), &j);
}

}  // namespace sprout::launch
