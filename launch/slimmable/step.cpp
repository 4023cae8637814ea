#include "launch/slimmable/step.h"

#include <algorithm>
#include <cstdio>

#include "growth/slimmable/gate.h"
#include "launch/train/trainer.h"
#include "runtime/device/transfer.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::launch {

namespace {

// SplitMix64: a portable hash, so (seed, step) gives the same draws on every rank.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Cross-entropy against soft targets (N, classes): mean_n −Σ_c t·log softmax(logits).
torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target) {
  return -(target * at::log_softmax(logits, 1)).sum(1).mean();
}

}  // namespace

std::vector<size_t> SlimmableStep::sandwich(size_t num_ratios, int64_t random, uint64_t seed, int64_t step) {
  std::vector<size_t> out = {num_ratios - 1};
  if (num_ratios > 2) {
    for (int64_t j = 0; j < random; ++j) {
      const uint64_t h = mix(mix(mix(seed) ^ static_cast<uint64_t>(step)) ^ static_cast<uint64_t>(j));
      out.push_back(1 + static_cast<size_t>(h % (num_ratios - 2)));
    }
  }
  out.push_back(0);
  return out;
}

SlimmableStep::SlimmableStep(Trainer& trainer) : trainer_(trainer) {
  const auto& cfg = trainer_.config();
  auto& model = trainer_.model();
  // Growth surgery resizes a site's own batch-norm statistics, not the per-width ones.
  SPROUT_CHECK(!cfg.growth.enabled(), ConfigError,
               "--train.mode: slimmable cannot be combined with growth events (growth.event / growth.start)");
  const auto device = trainer_.context().device;
  net_ = std::make_unique<growth::SlimmableNet>(model, cfg.slim.spec, cfg.train.seed);
  runtime::move_to_device(model.params(), device);  // the gate's parameters; then their state
  trainer_.optimizer().ensure_state(model.params());
  supernet_steps_ = trainer_.total_steps();
  const auto& p = model.params();
  gate_param_.assign(p.num_parameters(), false);
  for (const auto& name : net_->gate_stage_parameters()) gate_param_[p.parameter_index(name)] = true;
  if (cfg.slim.distill == "bootstrap") {
    teacher_model_ = growth::build_model(model.arch(), cfg.train.seed);
    teacher_ = std::make_unique<growth::SlimmableNet>(*teacher_model_, cfg.slim.spec, cfg.train.seed);
    runtime::move_to_device(teacher_model_->params(), device);
  }
}

SlimmableStep::~SlimmableStep() = default;

int64_t SlimmableStep::gate_steps() const { return trainer_.config().slim.gate_steps; }

const runtime::ParamSet* SlimmableStep::teacher() const { return teacher_ ? &teacher_model_->params() : nullptr; }

double SlimmableStep::train_step(int64_t step, double* lr) {
  auto& ctx = trainer_.context();
  ctx.comm->set_phase(concat("step ", step));
  const auto& data = trainer_.data();
  const auto dev = ctx.device;
  auto idx = trainer_.sampler().next();  // (B)
  auto x = trainer_.training_input(idx);                                    // (B, C, H, W)
  auto y = runtime::to_device(data.train.labels.index_select(0, idx), dev);  // (B)
  const auto& cfg = trainer_.config();
  if (step < supernet_steps_) {
    *lr = runtime::LrSchedule(cfg.schedule, supernet_steps_).at(step);
    return supernet_step(step, x, y, *lr);
  }
  runtime::LrScheduleOptions gate_schedule;
  gate_schedule.name = "cosine";
  gate_schedule.base_lr = cfg.slim.gate_lr;
  *lr = runtime::LrSchedule(gate_schedule, cfg.slim.gate_steps).at(step - supernet_steps_);
  return gate_step(step, x, y, *lr);
}

void SlimmableStep::update_teacher() {
  torch::NoGradGuard no_grad;
  const auto& s = trainer_.model().params();
  auto& t = teacher_model_->params();
  if (!teacher_ready_) {  // a copy of the (broadcast or restored) model at the first step
    for (size_t i = 0; i < s.num_parameters(); ++i) t.parameter(i).copy_(s.parameter(i));
    for (size_t i = 0; i < s.buffers().size(); ++i) t.buffers()[i].copy_(s.buffers()[i]);
    teacher_ready_ = true;
    return;
  }
  // Decay warm-up (TensorFlow's ExponentialMovingAverage with num_updates): early in a
  // short run the teacher follows the model instead of lingering at the initialisation,
  // which would hand the sub-networks near-uniform targets. DS-Net's 150 epochs need none.
  const auto& cfg = trainer_.config().slim;
  const double n = static_cast<double>(++teacher_updates_);
  const double d = cfg.ema_warmup ? std::min(cfg.ema_decay, (1.0 + n) / (10.0 + n)) : cfg.ema_decay;
  for (size_t i = 0; i < s.num_parameters(); ++i) t.parameter(i).mul_(d).add_(s.parameter(i), 1.0 - d);
  for (size_t i = 0; i < s.buffers().size(); ++i) {
    if (s.buffers()[i].is_floating_point()) t.buffers()[i].mul_(d).add_(s.buffers()[i], 1.0 - d);
    else t.buffers()[i].copy_(s.buffers()[i]);
  }
}

double SlimmableStep::supernet_step(int64_t step, const torch::Tensor& x, const torch::Tensor& y, double lr) {
  const auto& cfg = trainer_.config().slim;
  auto& engine = trainer_.engine();
  if (teacher_ && !teacher_ready_) update_teacher();
  engine.begin_step();
  const auto widths = sandwich(net_->num_ratios(), cfg.random, trainer_.config().train.seed, step);
  torch::Tensor target;                 // soft targets of the sub-networks (N, classes)
  std::vector<torch::Tensor> ensemble;  // teacher probabilities for the smallest (slim.ensemble)
  if (teacher_) {
    torch::NoGradGuard no_grad;
    target = at::softmax(teacher_->forward(x, net_->largest(), false), 1);
    ensemble.push_back(target);
  }
  torch::Tensor total;
  double largest_loss = 0;
  for (size_t w : widths) {
    auto logits = net_->forward(x, w, true);  // (B, classes)
    torch::Tensor loss;
    if (w == net_->largest()) {
      loss = at::cross_entropy_loss(logits, y);
      largest_loss = loss.item<double>();
      if (cfg.distill == "inplace") target = at::softmax(logits.detach(), 1);
    } else if (cfg.distill == "none") {
      loss = at::cross_entropy_loss(logits, y);
    } else if (w == 0 && cfg.ensemble) {
      loss = soft_cross_entropy(logits, at::stack(ensemble).mean(0));
    } else {
      loss = soft_cross_entropy(logits, target);
      if (cfg.ensemble) {
        torch::NoGradGuard no_grad;
        ensemble.push_back(at::softmax(teacher_->forward(x, w, false), 1));
      }
    }
    total = total.defined() ? total + loss : loss;
  }
  total.backward();  // one backward: every width's gradient accumulates before the reduction
  const auto& grads = engine.finish_step();
  std::vector<torch::Tensor> mine(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!gate_param_[i]) mine[i] = grads[i];
  }
  trainer_.optimizer().step(trainer_.model().params(), mine, lr);
  engine.average_buffers();
  if (teacher_) update_teacher();
  return largest_loss;
}

double SlimmableStep::gate_step(int64_t step, const torch::Tensor& x, const torch::Tensor& y, double lr) {
  const auto& cfg = trainer_.config().slim;
  auto& engine = trainer_.engine();
  const auto k = static_cast<int64_t>(net_->num_ratios());
  engine.begin_step();
  torch::Tensor logits, pooled, target;  // (B, K, classes), (B, k_min), (B)
  {
    // The frozen supernet: every sub-network in eval mode, and the SGS targets.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> all;
    for (size_t i = 0; i < net_->num_ratios(); ++i) all.push_back(net_->forward(x, i, false));
    logits = at::stack(all, 1);
    pooled = net_->probe(x).pooled;
    const auto smallest_right = all.front().argmax(1).eq(y);
    target = at::where(smallest_right, at::zeros_like(y), at::full_like(y, k - 1));
  }
  auto gate_logits = net_->gate_logits(pooled);  // (B, K): the trainable part of the graph
  auto gen = compat::make_generator(
      mix(mix(trainer_.config().train.seed ^ 0x6a7e) ^ static_cast<uint64_t>(step)) ^
      static_cast<uint64_t>(trainer_.context().rank()));
  auto choice = growth::gumbel_softmax_hard(gate_logits, cfg.gate_tau, gen);  // hard (B, K)
  auto routed = (choice.hard.unsqueeze(2) * logits).sum(1);                  // (B, classes)
  std::vector<double> macs;
  for (size_t i = 0; i < net_->num_ratios(); ++i) {
    // What an example routed to ratio i costs (the probe included where it is not reused).
    macs.push_back(static_cast<double>(net_->routed_macs(i)) / static_cast<double>(net_->macs(net_->largest())));
  }
  auto macs_fraction = (choice.hard * torch::tensor(macs, torch::kFloat32).to(x.device())).sum(1).mean();
  auto loss = at::cross_entropy_loss(gate_logits, target) + at::cross_entropy_loss(routed, y) +
              cfg.gate_macs_weight * macs_fraction * macs_fraction;
  loss.backward();
  const auto& grads = engine.finish_step();
  std::vector<torch::Tensor> mine(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    if (gate_param_[i]) mine[i] = grads[i];
  }
  trainer_.optimizer().step(trainer_.model().params(), mine, lr);
  trainer_.model().params().buffer("gate.trained_steps").add_(1);
  return loss.item<double>();
}

std::vector<WidthEvaluation> SlimmableStep::at_end(Progress& progress) {
  auto& ctx = trainer_.context();
  ctx.comm->set_phase("slimmable evaluation");
  const auto& data = trainer_.data();
  EvalData ed{&data.test, data.norm, trainer_.config().train.eval_batch, ctx.device};
  auto rows = evaluate_widths(*ctx.comm, ed, *net_);
  const double full = static_cast<double>(net_->macs(net_->largest()));
  for (const auto& r : rows) {
    runtime::JsonObject j = r.json();
    j.add("event", "slimmable_eval");
    progress.event("slimmable " + r.line(full), &j);
  }
  return rows;
}

}  // namespace sprout::launch
