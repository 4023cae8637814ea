#include "launch/bench/checkpoint_stall.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "launch/bench/bench.h"
#include "launch/checkpoint/run_state.h"
#include "launch/cli/rank_agreement.h"
#include "launch/train/train_config.h"
#include "launch/train/trainer.h"
#include "runtime/checkpoint/async_save.h"

namespace sprout::launch {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

TrainConfig stall_config(const StallBenchOptions& o) {
  auto c = read_train_config(Options::defaults(train_option_table()));
  c.data.name = "synthetic";
  c.data.synthetic_train = 4096;
  c.model.kind = "mlp";
  c.model.set_ints("widths", {o.hidden, o.hidden});
  c.optim.name = "adamw";
  c.schedule.name = "constant";
  c.train.batch = o.batch;
  c.train.steps = 1000000;
  c.train.seed = 1;
  c.log.progress = "none";
  return c;
}

// One step, timed on the slowest rank (a step is as slow as its slowest rank).
double timed_step(Trainer& t, const std::function<void()>& after = [] {}) {
  const auto t0 = Clock::now();
  t.train_step();
  after();
  return runtime::allreduce_scalar(*t.context().comm, since(t0), runtime::ReduceOp::Max);
}

}  // namespace

runtime::JsonObject bench_checkpoint_stall(runtime::RuntimeContext& ctx, const StallBenchOptions& o) {
  auto& comm = *ctx.comm;
  Trainer trainer(ctx, stall_config(o));
  agree(comm, [&] { trainer.prepare(); });
  trainer.engine().broadcast_state(0);
  for (int i = 0; i < 5; ++i) trainer.train_step();  // AdamW's slots exist after a step
  std::vector<double> normal;
  for (int i = 0; i < 10; ++i) normal.push_back(timed_step(trainer));
  const runtime::PruneRules rules{1, {}, runtime::cached_checkpoint_problem};

  std::vector<double> sync_stall, async_stall, async_write, in_flight, async_start, async_commit;
  int64_t bytes = 0;
  for (int64_t r = 0; r < o.repeat; ++r) {
    comm.barrier();
    auto t0 = Clock::now();
    const auto commit = runtime::commit_checkpoint(comm, o.dir, runtime::checkpoint_file_name(2 * r),
                                                   capture_training_state(trainer, ""), rules);
    sync_stall.push_back(runtime::allreduce_scalar(comm, since(t0), runtime::ReduceOp::Max));
    bytes = commit.write.bytes;
    for (int i = 0; i < 3; ++i) normal.push_back(timed_step(trainer));

    comm.barrier();
    t0 = Clock::now();
    runtime::AsyncCheckpointWriter writer;
    writer.save(comm, o.dir, runtime::checkpoint_file_name(2 * r + 1), capture_training_state(trainer, ""), rules);
    const double start_stall = runtime::allreduce_scalar(comm, since(t0), runtime::ReduceOp::Max);
    std::optional<runtime::SaveReport> done;
    // Steps with the write in flight; the one that commits is a step boundary like any other.
    while (!done) {
      const double s = timed_step(trainer, [&] { done = writer.poll(comm); });
      if (!done) in_flight.push_back(s);
    }
    async_stall.push_back(std::max(start_stall, done->stall_seconds));
    async_write.push_back(done->write_seconds);
    async_start.push_back(runtime::allreduce_scalar(comm, done->start_seconds, runtime::ReduceOp::Max));
    async_commit.push_back(runtime::allreduce_scalar(comm, done->commit_seconds, runtime::ReduceOp::Max));
    for (int i = 0; i < 3; ++i) normal.push_back(timed_step(trainer));
  }
  const double mb = bytes / 1e6, step = median(normal), flight = median(in_flight);
  const double sync_s = median(sync_stall), async_s = median(async_stall);
  if (ctx.is_root()) {
    std::printf("\ncheckpoint stall: MLP 784-%lld-%lld-10 + AdamW, %.1f MB, %d rank(s), %lld checkpoint(s) per mode\n",
                static_cast<long long>(o.hidden), static_cast<long long>(o.hidden), mb, comm.size(),
                static_cast<long long>(o.repeat));
    std::printf("%-34s %10s\n", "", "median");
    std::printf("%-34s %10.3f s\n", "sync save: training stalled", sync_s);
    std::printf("%-34s %10.3f s  (%.1f%% of sync; goal <= 10%%)\n", "async save: training stalled", async_s,
                100 * async_s / sync_s);
    std::printf("%-34s %10.3f s\n", "  of which snapshot + layout", median(async_start));
    std::printf("%-34s %10.3f s\n", "  of which commit", median(async_commit));
    std::printf("%-34s %10.3f s  (%.0f MB/s)\n", "async save: background write", median(async_write),
                mb / median(async_write));
    std::printf("%-34s %10.1f ms\n", "normal step", 1000 * step);
    std::printf("%-34s %10.1f ms  (%.2fx normal over %zu steps; goal <= 1.15x)\n", "step with a write in flight",
                1000 * flight, flight / step, in_flight.size());
    std::fflush(stdout);
  }
  runtime::JsonObject j;
  j.add("checkpoint_mb", mb).add("sync_stall_s", sync_s).add("async_stall_s", async_s)
      .add("async_write_s", median(async_write))
      .add("async_start_s", median(async_start)).add("async_commit_s", median(async_commit)).add("stall_ratio", async_s / sync_s).add("step_s", step)
      .add("step_in_flight_s", flight).add("in_flight_ratio", flight / step)
      .add("steps_in_flight", static_cast<int64_t>(in_flight.size()));
  return j;
}

}  // namespace sprout::launch
