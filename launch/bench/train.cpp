// `sprout bench train`: training throughput on the DDP reference workload. Prints one line
// like launch/scripts/ddp_reference.py:
//   sprout world=2 model=mlp hidden=1024 batch=256 ... samples_per_s=… peak_rss_mb=… state_mb=…
// (peak resident memory: the largest over ranks; model_rss_mb: what building and training the
// model added to the resident memory of the process with its data loaded, the largest over
// ranks, -1 where the kernel's peak cannot be restarted; optimizer state: rank 0's; step_cpu_ms:
// the process CPU time of a step, the largest over ranks — what `sprout plan` predicts as
// compute + update CPU time, plus what communication and the batches cost the CPU)
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>

#include "launch/cli/rank_agreement.h"
#include "launch/bench/bench.h"
#include "launch/bench/workload.h"
#include "runtime/engine/allocator.h"

namespace sprout::launch {

int bench_train(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  Options o;
  if (!parse_bench_options(ctx, workload_option_table(), args,
                           "usage: sprout bench train [--model FAMILY] [--model.KEY V ...] [--hidden H] [--batch B] [--steps S] "
                           "[--warmup W] [--optim sgd|adamw] [--shard none|state|gradients]",
                           o, check_workload)) {
    return 0;
  }
  const TrainConfig config = workload_config(o);
  Trainer trainer(ctx, config);
  data::DataSplits data;
  agree(*ctx.comm, [&] { data = load_training_data(config); });
  // The model's memory: resident memory from here (data loaded, freed memory returned) to
  // the peak of training. Without the restart, memory the data set's loading freed but kept
  // resident takes the model's first tensors unseen, and a baseline run's peak includes it.
  const double base_mb = runtime::start_rss_measurement();
  agree(*ctx.comm, [&] { trainer.prepare(std::move(data)); });
  ctx.comm->set_phase("bench: broadcast");
  trainer.engine().broadcast_state(0);
  for (int64_t i = 0; i < o.get_int("warmup"); ++i) trainer.train_step();

  const int64_t steps = o.get_int("steps");
  double loss = 0, finish_s = 0;
  ctx.comm->barrier();
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  for (int64_t i = 0; i < steps; ++i) {
    loss = trainer.train_step();
    finish_s += trainer.engine().last_finish_s();
  }
  const double cpu_s = runtime::allreduce_scalar(*ctx.comm, process_cpu_seconds() - cpu0, runtime::ReduceOp::Max);
  ctx.comm->barrier();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rss = runtime::allreduce_scalar(*ctx.comm, runtime::peak_rss_mb(), runtime::ReduceOp::Max);
  const double model_mb = runtime::allreduce_scalar(
      *ctx.comm, base_mb >= 0 ? runtime::rss_peak_since_start_mb() - base_mb : -1.0, runtime::ReduceOp::Max);
  const double state_mb = trainer.optimizer().state_bytes() / (1024.0 * 1024.0);
  if (ctx.is_root()) {
    std::printf("sprout world=%d model=%s hidden=%lld batch=%lld threads=%d overlap=%d "
                "samples_per_s=%.1f step_ms=%.2f step_cpu_ms=%.2f finish_ms=%.2f loss=%.4f model_rss_mb=%.1f optim=%s shard=%s "
                "params=%lld peak_rss_mb=%.1f state_mb=%.2f\n",
                ctx.size(), config.model.kind.c_str(), static_cast<long long>(o.get_int("hidden")),
                static_cast<long long>(config.train.batch), at::get_num_threads(), config.engine.overlap ? 1 : 0,
                static_cast<double>(steps * config.train.batch * ctx.size()) / dt, 1000.0 * dt / steps, 1000.0 * cpu_s / steps,
                1000.0 * finish_s / steps, loss, model_mb, config.optim.name.c_str(), config.optim.shard.c_str(),
                static_cast<long long>(trainer.model().params().parameter_numel()), rss, state_mb);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
