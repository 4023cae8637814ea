#include "launch/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <thread>

#include "data/augment.h"
#include "data/idx.h"
#include "launch/adaptive/step.h"
#include "launch/growth/driver.h"
#include "launch/checkpoint/checkpointer.h"
#include "runtime/checkpoint/async_save.h"
#include "launch/cli/rank_agreement.h"
#include "launch/slimmable/step.h"
#include "launch/train/stored_normalization.h"
#include "growth/models/macs.h"
#include "growth/models/memory_estimate.h"
#include "runtime/engine/allocator.h"
#include "runtime/device/transfer.h"
#include "runtime/error.h"
#include "runtime/fault_injection.h"
#include "runtime/optim/grad_clip.h"
#include "runtime/stop_signal.h"
#include "runtime/torch_compat.h"
#include "runtime/engine/threads.h"

namespace sprout::launch {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

runtime::JsonObject widths_json(const std::map<std::string, int64_t>& widths) {
  runtime::JsonObject o;
  for (const auto& [site, w] : widths) o.add(site, w);
  return o;
}

// Refuses, before anything is allocated, a model that cannot fit in this rank's share of
// the machine at the widths its growth schedule will reach (growth/models/memory_estimate.h).
// On a GPU the host's memory is not the limit: only the hard size limits apply there.
void refuse_what_cannot_fit(const TrainConfig& c, const growth::ArchSpec& spec, const runtime::RuntimeContext& ctx) {
  const auto start = growth::site_widths(spec);
  // A model without width sites (a wrapped torch::nn::Module: launch/api/module_model.h)
  // cannot follow a growth schedule; say so rather than "unknown site".
  const bool grows = !c.growth.events.empty() || c.growth.compact.enabled();
  SPROUT_CHECK(!grows || !start.empty(), ConfigError, c.growth.events.empty() ? "--growth.times" : "--growth.event",
               ": model ", spec.kind, " declares no width groups, so it cannot grow");
  auto events = c.growth.events;
  for (auto& e : growth::expand(c.growth.compact, start)) events.push_back(e);
  const auto groups = growth::group_widths(spec);  // events may name any width group
  const std::map<std::string, int64_t> start_widths(groups.begin(), groups.end());
  const auto reached = growth::with_site_widths(spec, growth::final_widths(events, start_widths));
  const auto available = ctx.device.is_cpu() ? growth::available_memory_per_rank(ctx.local_size)
                                             : growth::AvailableMemory{HUGE_VAL, "device"};
  growth::check_training_memory(spec, reached, c.train.batch, growth::optimizer_slots(c.optim.name, c.optim.momentum),
                                available);
}

}  // namespace

runtime::JsonObject TrainResult::summary() const {
  runtime::JsonObject o;
  o.add("step", step)
      .add("train_loss", train_loss)
      .add("test_accuracy", test.accuracy)
      .add("test_loss", test.loss)
      .add("samples_per_s", samples_per_s)
      .add("wall_s", wall_s)
      .add("world_size", world_size)
      .add("model", model)
      .add("widths", widths_json(widths))
      .add("peak_rss_mb", peak_rss_mb)
      .add("optimizer_state_mb", optimizer_state_mb)
      .add("train_flops", train_flops);
  return o;
}

Trainer::Trainer(runtime::RuntimeContext ctx, TrainConfig config) : ctx_(ctx), config_(std::move(config)) {}

Trainer::~Trainer() = default;

runtime::AsyncCheckpointWriter& Trainer::async_checkpoints() {
  if (!async_checkpoints_) async_checkpoints_ = std::make_unique<runtime::AsyncCheckpointWriter>();
  return *async_checkpoints_;
}

data::DataSplits load_training_data(const TrainConfig& config) {
  try {
    return data::load_data(config.data);
  } catch (const data::DataError& e) {  // a file the user gave us: bad input (status 2)
    const char* option = config.data.name == "hdf5" ? "data.path" : config.data.name == "synthetic" ? "data.name" : "data.dir";
    throw ConfigError(concat("--", option, ": ", e.what()));
  }
}

void Trainer::prepare() { prepare(load_training_data(config_)); }

void Trainer::prepare(data::DataSplits data) {
  runtime::retain_freed_memory();  // runtime/engine/allocator.h: no page faults for per-step tensors
  runtime::configure_threads(config_.runtime.threads > 0 ? config_.runtime.threads
                                                         : runtime::default_threads(ctx_.local_size));
  ctx_.comm->set_timeout(config_.runtime.timeout_s);
  configure_engine_allreduce(*ctx_.comm, config_.engine);  // runtime.allreduce (launch/cli/runtime_options.h)
  data_ = std::move(data);
  SPROUT_CHECK(data_.train.size() > 0, ConfigError, "--data.classes: no training examples in classes '",
               growth::join_ints(config_.data.classes), "'");
  auto spec = config_.model;
  spec.in_channels = data_.channels;
  spec.in_height = data_.height;
  spec.in_width = data_.width;
  spec.classes = data_.num_classes;
  spec = growth::complete(spec);  // the family's defaults for what the caller left unset
  refuse_what_cannot_fit(config_, spec, ctx_);
  model_ = growth::build_model(spec, config_.train.seed);
  if (config_.adaptive.enabled) growth::make_adaptive(*model_, config_.adaptive.spec);  // rates are parameters
  runtime::move_to_device(model_->params(), ctx_.device);  // before the optimizer state is made
  runtime::DataParallelOptions engine_options{config_.runtime.bucket_mb, 1.0, config_.engine.overlap};
  engine_options.scatter_gradients = config_.optim.shard == "gradients";
  engine_ = std::make_unique<runtime::DataParallel>(*ctx_.comm, model_->params(), engine_options);
  optimizer_ = runtime::make_optimizer(config_.optim);
  // Sharded state is cut before any exists; with reduce-scattered gradients, as the engine cuts them.
  if (config_.optim.shard == "state") optimizer_->shard_state(*ctx_.comm);
  if (config_.optim.shard == "gradients") {
    optimizer_->shard_state(*ctx_.comm, [engine = engine_.get()](const runtime::ParamSet&) { return engine->gradient_plan(); });
  }
  optimizer_->ensure_state(model_->params());
  sampler_ = std::make_unique<data::DistributedSampler>(data_.train.size(), ctx_.rank(), ctx_.size(),
                                                        config_.train.batch, config_.train.seed);
  total_steps_ = config_.total_steps(data_.train.size(), ctx_.size());
  schedule_ = std::make_unique<runtime::LrSchedule>(config_.schedule, total_steps_);
  if (config_.slim.enabled) {  // train.mode = slimmable: supernet steps, then the gate's
    slim_ = std::make_unique<SlimmableStep>(*this);
    total_steps_ += slim_->gate_steps();
  }
  if (config_.adaptive.enabled) adaptive_ = std::make_unique<AdaptiveStep>(*this);  // launch/adaptive/step.h
  if (config_.runtime.precision == "bf16") probe_precision();
  progress_ = std::make_unique<Progress>(ctx_.is_root(), config_.log.progress, config_.log.metrics, total_steps_);
  growth_ = std::make_unique<GrowthDriver>(config_.growth, *model_, total_steps_, config_.train.seed);
}

// Before the first step: one forward and backward of two training examples under the
// configured autocast, so that a model with an op that has no bfloat16 kernel on this
// device fails here with one line (status 2), not in the middle of a run. Local.
void Trainer::probe_precision() {
  try {
    // The normalisation may not be known yet (start() computes it): any will do here.
    const data::Normalization any{std::vector<double>(data_.channels, 0.0), std::vector<double>(data_.channels, 1.0)};
    auto x = data::to_input(runtime::to_device(data_.train.range(0, std::min<int64_t>(2, data_.train.size())), ctx_.device),
                            data_.norm.known() ? data_.norm : any);
    auto y = runtime::to_device(data_.train.labels.narrow(0, 0, x.size(0)), ctx_.device);
    torch::Tensor loss;
    {
      auto autocast = mixed_precision();
      growth::ForwardOptions fo;
      fo.train = true;
      loss = at::cross_entropy_loss(adaptive_ ? adaptive_->forward(x, true) : model_->forward(x, fo), y);
    }
    (adaptive_ ? adaptive_->objective(loss) : loss).backward();
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw ConfigError(concat("--runtime.precision: bf16: this model fails under bfloat16 autocast on ", ctx_.device,
                             ": ", what.substr(0, what.find('\n'))));
  }
  model_->params().zero_grad();
}

std::optional<compat::AutocastGuard> Trainer::mixed_precision() const {
  // Prvalues only: the guard can be neither copied nor moved.
  if (config_.runtime.precision == "bf16") {
    return std::optional<compat::AutocastGuard>(std::in_place, ctx_.device.type(), at::kBFloat16);
  }
  return std::nullopt;
}

void Trainer::load_weights(const runtime::ParamSet& weights) {
  SPROUT_CHECK(model_, Error, "Trainer::load_weights before prepare");
  torch::NoGradGuard no_grad;
  auto& p = model_->params();
  auto copy = [](const std::string& name, const torch::Tensor& dst, const torch::Tensor& src) {
    SPROUT_CHECK(dst.sizes() == src.sizes(), ConfigError, "initial weights: ", name, " has shape ", src.sizes(),
                 ", the model's is ", dst.sizes());
    dst.detach().copy_(src);
  };
  SPROUT_CHECK(weights.num_parameters() == p.num_parameters() && weights.buffers().size() == p.buffers().size(),
               ConfigError, "initial weights: ", weights.num_parameters(), " parameters and ", weights.buffers().size(),
               " buffers, the model has ", p.num_parameters(), " and ", p.buffers().size());
  for (size_t i = 0; i < p.num_parameters(); ++i) copy(p.parameter_name(i), p.parameter(i), weights.parameter(p.parameter_name(i)));
  for (size_t i = 0; i < p.buffers().size(); ++i) copy(p.buffer_names()[i], p.buffers()[i], weights.buffer(p.buffer_names()[i]));
}

void Trainer::start() {
  resume_training(*this);  // installs the checkpoint's normalisation, if it stores one
  if (!data_.norm.known()) data_.norm = compute_normalization(*ctx_.comm, data_.full_train);  // a file
}

torch::Tensor Trainer::training_input(const torch::Tensor& idx) const {
  auto images = data_.train.gather(idx);  // (B, C, H, W), uint8 or float32
  if (config_.augment == "crop_flip") images = data::crop_flip(images, idx, config_.train.seed, sampler_->state().epoch);
  return data::to_input(runtime::to_device(images, ctx_.device), data_.norm);
}

void Trainer::before_step() {
  growth_->before_step(*this, *progress_);
  if (adaptive_) adaptive_->before_step(*progress_);  // learned width changes
}

// Note [Step agreement]
// Whether to go on after a step is decided by all ranks together, with one 8-byte MAX
// allreduce per step: a rank votes 2 when its loss is not finite, 1 when it received a stop
// signal (runtime/stop_signal.h), else 0. A diverged run then ends on every rank at the same
// step with one line from rank 0 and status 1 (not one line per diverged rank, nor a
// MPI_Abort racing the others' messages); a stop request checkpoints and exits 75.
void Trainer::after_step(double loss) {
  runtime::inject_test_fault("step", step_, ctx_.rank());  // TEST ONLY (SPROUT_TEST_FAULT)
  if (config_.test_step_sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(config_.test_step_sleep_ms));
  const bool diverged = !std::isfinite(loss);
  const int64_t vote = diverged ? 2 : runtime::stop_signal_received() ? 1 : 0;
  const int64_t agreed = runtime::allreduce_int(*ctx_.comm, vote, runtime::ReduceOp::Max);
  if (agreed == 2) {
    if (ctx_.is_root()) {
      std::fprintf(stderr, "sprout: training diverged at step %lld: the loss is not finite on %s (rank 0's loss: %g)\n",
                   static_cast<long long>(step_), diverged ? "rank 0 and perhaps others" : "at least one rank", loss);
      std::fflush(stderr);
    }
    progress_->finish();
    throw AgreedExit(1);
  }
  growth_->after_step(*this, loss);  // growth.auto: the loss the plateau detector reads, before it is checkpointed
  checkpoint_after_step(*this, /*stop_requested=*/agreed == 1);
}

void Trainer::at_end() {
  checkpoint_at_end(*this);
  if (slim_) slim_->at_end(*progress_);  // per-width table and the dynamic gate
}

double Trainer::train_step() {
  if (slim_) return slim_->train_step(step_++, &last_lr_);  // launch/slimmable/step.h
  ctx_.comm->set_phase(concat("step ", step_));
  const auto dev = ctx_.device;  // pinned host memory + asynchronous copy on CUDA
  // K micro-batches of B: each loss is scaled by 1/K so that the summed gradients are the
  // mean over K·B examples, as one batch of K·B would give (batch-norm statistics aside).
  const int64_t K = config_.train.accumulate;
  engine_->begin_step(K);
  double loss_sum = 0;
  for (int64_t k = 0; k < K; ++k) {
    auto idx = sampler_->next();  // (B)
    auto x = training_input(idx);                                                       // (B, C, H, W)
    auto y = runtime::to_device(data_.train.labels.index_select(0, idx), dev);          // (B)
    engine_->begin_micro_batch();
    torch::Tensor loss;
    {
      auto autocast = mixed_precision();  // runtime.precision = bf16; backward follows the recorded precisions
      growth::ForwardOptions fo;
      fo.train = true;
      auto logits = adaptive_ ? adaptive_->forward(x, true) : model_->forward(x, fo);  // (B, classes)
      loss = at::cross_entropy_loss(logits, y);
    }
    auto objective = adaptive_ ? adaptive_->objective(loss) : loss;  // adaptive: −ELBO/N
    (K == 1 ? objective : objective / static_cast<double>(K)).backward();
    loss_sum += loss.item<double>();
  }
  const auto& grads = engine_->finish_step();
  const bool pieces = config_.optim.shard == "gradients";  // this rank's pieces of the gradients
  if (config_.optim.clip_norm > 0) {
    last_grad_norm_ = pieces ? runtime::clip_grad_norm_sharded(grads, config_.optim.clip_norm, *ctx_.comm)
                             : runtime::clip_grad_norm(grads, config_.optim.clip_norm);
  }
  last_lr_ = schedule_->at(step_);
  if (pieces) optimizer_->step_on_pieces(model_->params(), grads, last_lr_);
  else optimizer_->step(model_->params(), grads, last_lr_);
  engine_->average_buffers();
  ++step_;
  return loss_sum / static_cast<double>(K);
}

Evaluation Trainer::evaluate() {
  torch::NoGradGuard no_grad;
  // Evaluated before start() (a model loaded to be evaluated): a file's normalisation is
  // computed here, as start() would. Collective, like the evaluation.
  if (!data_.norm.known()) data_.norm = compute_normalization(*ctx_.comm, data_.full_train);
  const int64_t n = data_.test.size();
  const int64_t lo = n * ctx_.rank() / ctx_.size(), hi = n * (ctx_.rank() + 1) / ctx_.size();
  double correct = 0, loss_sum = 0;
  for (int64_t b = lo; b < hi; b += config_.train.eval_batch) {
    const int64_t m = std::min(config_.train.eval_batch, hi - b);
    auto x = data::to_input(runtime::to_device(data_.test.range(b, m), ctx_.device), data_.norm);
    auto y = runtime::to_device(data_.test.labels.narrow(0, b, m), ctx_.device);
    auto autocast = mixed_precision();
    // A slimmable model's full width includes the gate's attention (launch/slimmable/step.h).
    auto logits = slim_       ? slim_->net().forward(x, slim_->net().largest(), false)
                  : adaptive_ ? adaptive_->forward(x, false)  // the importances are part of the function
                              : model_->forward(x, false);
    loss_sum += at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
    correct += logits.argmax(1).eq(y).sum().item<double>();
  }
  auto t = torch::tensor({correct, loss_sum, static_cast<double>(hi - lo)}, torch::kFloat64);
  ctx_.comm->allreduce(t, runtime::ReduceOp::Sum);
  Evaluation e;
  e.examples = static_cast<int64_t>(t[2].item<double>());
  if (e.examples > 0) {
    e.accuracy = t[0].item<double>() / e.examples;
    e.loss = t[1].item<double>() / e.examples;
  }
  return e;
}

double Trainer::log_step(double loss_sum, int64_t count, double seconds) {
  const double loss = runtime::allreduce_scalar(*ctx_.comm, loss_sum / std::max<int64_t>(count, 1),
                                                runtime::ReduceOp::Avg);
  const double rate = seconds > 0 ? count * config_.train.batch * config_.train.accumulate * ctx_.size() / seconds : 0.0;
  runtime::JsonObject j;
  j.add("step", step_).add("epoch", sampler_->state().epoch).add("train_loss", loss).add("lr", last_lr_)
      .add("samples_per_s", rate).add("widths", widths_json(model_->widths()));
  char line[256];
  int n = std::snprintf(line, sizeof line, "step %lld/%lld  epoch %lld  loss %.4f  lr %.4g  %.0f samples/s",
                        static_cast<long long>(step_), static_cast<long long>(total_steps_),
                        static_cast<long long>(sampler_->state().epoch), loss, last_lr_, rate);
  if (config_.optim.clip_norm > 0) {  // the last step's norm before clipping
    j.add("grad_norm", last_grad_norm_);
    std::snprintf(line + n, sizeof line - n, "  grad norm %.4g", last_grad_norm_);
  }
  progress_->step(step_, j, line);
  return loss;
}

TrainResult Trainer::run() {
  SPROUT_CHECK(model_, Error, "Trainer::run before prepare");
  ctx_.comm->set_phase("initial broadcast");
  engine_->broadcast_state(0);
  start();

  TrainResult r;
  r.world_size = ctx_.size();
  const auto t_start = std::chrono::steady_clock::now();
  double train_seconds = 0, interval_seconds = 0, loss_sum = 0, last_loss = NAN;
  int64_t interval_steps = 0, trained_steps = 0;
  int64_t counted_numel = -1;  // the model's size the MACs below were counted at
  double macs = 0;
  const double examples_per_step =
      static_cast<double>(config_.train.batch) * static_cast<double>(config_.train.accumulate) * ctx_.size();
  while (step_ < total_steps_) {
    before_step();
    if (const int64_t numel = model_->params().parameter_numel(); numel != counted_numel) {  // grown (or first step)
      counted_numel = numel;
      macs = static_cast<double>(growth::macs_per_example(model_->arch()));
    }
    r.train_flops += 6.0 * macs * examples_per_step;
    const auto t0 = std::chrono::steady_clock::now();
    const double loss = train_step();
    const double dt = seconds_since(t0);
    after_step(loss);
    train_seconds += dt;
    interval_seconds += dt;
    loss_sum += loss;
    ++interval_steps;
    ++trained_steps;
    if (step_ % config_.train.log_every == 0 || step_ == total_steps_) {
      last_loss = log_step(loss_sum, interval_steps, interval_seconds);
      loss_sum = 0;
      interval_steps = 0;
      interval_seconds = 0;
    }
    if (config_.train.eval_every > 0 && step_ % config_.train.eval_every == 0 && step_ < total_steps_) {
      const auto e = evaluate();
      runtime::JsonObject j;
      j.add("event", "eval").add("step", step_).add("test_accuracy", e.accuracy).add("test_loss", e.loss);
      char line[160];
      std::snprintf(line, sizeof line, "eval step %lld  test accuracy %.4f  test loss %.4f",
                    static_cast<long long>(step_), e.accuracy, e.loss);
      progress_->event(line, &j);
    }
  }
  at_end();
  ctx_.comm->set_phase("final evaluation");
  r.test = evaluate();
  progress_->finish();
  r.step = step_;
  r.train_loss = last_loss;
  r.samples_per_s = train_seconds > 0
                       ? trained_steps * config_.train.batch * config_.train.accumulate * ctx_.size() / train_seconds
                       : 0.0;
  r.optimizer_state_mb = optimizer_->state_bytes() / (1024.0 * 1024.0);
  r.peak_rss_mb = runtime::allreduce_scalar(*ctx_.comm, runtime::peak_rss_mb(), runtime::ReduceOp::Max);
  r.wall_s = seconds_since(t_start);
  r.widths = model_->widths();
  r.model = model_->arch().describe();
  runtime::JsonObject final_row;  // the final evaluation, in the metrics file too
  final_row.add("event", "final").add("step", r.step).add("test_accuracy", r.test.accuracy)
      .add("test_loss", r.test.loss).add("test_examples", r.test.examples).add("samples_per_s", r.samples_per_s)
      .add("wall_s", r.wall_s).add("model", r.model).add("widths", widths_json(r.widths))
      .add("train_flops", r.train_flops);
  progress_->record(final_row);
  return r;
}

}  // namespace sprout::launch
