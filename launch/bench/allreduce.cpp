// `sprout bench allreduce`: bandwidth of the engine's bucketed gradient reduction beside
// plain MPI_Allreduce (and MPI_Iallreduce) on buffers of the same size, 8 B … 64 MB, in
// the style of nccl-tests / osu_allreduce. The engine's buffer is a model of 4 equal
// parameters laid out in buckets exactly as DataParallel does (first bucket 1 MiB, then
// --bucket_mb) and reduced by BucketReducer (ring for buckets >= 64 KiB). Times are the
// slowest rank's, median of --reps interleaved repetitions; busbw = algbw · 2(n−1)/n.
// Every size is checked first: all ranks contribute rank+1, the result must be n(n+1)/2.
#include <mpi.h>

#include <chrono>
#include <cstdio>

#include "launch/bench/bench.h"
#include "runtime/engine/bucket_reducer.h"
#include "runtime/error.h"
#include "runtime/comm/mpi_communicator.h"

namespace sprout::launch {

namespace {

OptionTable allreduce_table() {
  return {
      {"min_bytes", "8", "smallest message"},
      {"max_bytes", "67108864", "largest message (64 MiB)"},
      {"reps", "5", "interleaved repetitions per size (median reported)"},
      {"bucket_mb", "25", "engine bucket cap in MiB"},
  };
}

void check_allreduce(const Options& o) {
  const int64_t lo = o.get_int("min_bytes"), hi = o.get_int("max_bytes");
  SPROUT_CHECK(lo >= 4 && lo <= hi, ConfigError, "--min_bytes: ", lo, " must be in [4, max_bytes]");
  SPROUT_CHECK(hi <= (int64_t{1} << 31), ConfigError, "--max_bytes: ", hi, " must be <= 2 GiB");
  SPROUT_CHECK(o.get_int("reps") > 0, ConfigError, "--reps: ", o.get_int("reps"), " must be > 0");
  const double mb = o.get_double("bucket_mb");
  SPROUT_CHECK(mb > 0 && mb <= 4096, ConfigError, "--bucket_mb: ", mb, " must be in (0, 4096]");
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

runtime::BucketReducer engine_for(runtime::Communicator& comm, int64_t numel, double bucket_mb) {
  const int64_t parts = std::min<int64_t>(4, numel);
  std::vector<torch::Tensor> params;
  std::vector<std::vector<int64_t>> shapes;
  for (int64_t k = 0; k < parts; ++k) {
    const int64_t n = numel * (k + 1) / parts - numel * k / parts;
    params.push_back(torch::empty({n}));
    shapes.push_back({n});
  }
  const double mib = 1024.0 * 1024.0;
  auto layout = runtime::BucketLayout::build(params, static_cast<size_t>(bucket_mb * mib),
                                             static_cast<size_t>(std::min(1.0, bucket_mb) * mib));
  return runtime::BucketReducer(comm, std::move(layout), shapes, 1.0);
}

}  // namespace

int bench_allreduce(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  Options o;
  if (!parse_bench_options(ctx, allreduce_table(), args, "usage: sprout bench allreduce [--min_bytes N] [--max_bytes N]",
                           o, check_allreduce)) {
    return 0;
  }
  auto* world = dynamic_cast<runtime::MpiCommunicator*>(ctx.comm);
  SPROUT_CHECK(world != nullptr, ConfigError, "bench allreduce: needs the MPI backend");
  auto engine_comm = ctx.comm->split(0, ctx.rank());  // as DataParallel does
  const MPI_Comm plain = world->handle();
  const int n = ctx.size();
  const double bus = n > 1 ? 2.0 * (n - 1) / n : 1.0;
  const int reps = static_cast<int>(o.get_int("reps"));
  if (ctx.is_root()) {
    std::printf("# sprout bench allreduce: world=%d float32 sum; engine = DataParallel buckets (first 1 MiB, then %g MiB), "
                "ring >= 64 KiB; busbw = algbw*2(n-1)/n; GB/s = 1e9 B/s\n",
                n, o.get_double("bucket_mb"));
    std::printf("# %11s %7s %11s %12s %12s %11s %10s %10s %15s %10s %6s\n", "bytes", "buckets", "engine_us",
                "engine_algbw", "engine_busbw", "mpi_us", "mpi_algbw", "mpi_busbw", "iallreduce_busbw", "engine/mpi",
                "wrong");
  }
  for (int64_t bytes = o.get_int("min_bytes"); bytes <= o.get_int("max_bytes"); bytes *= 2) {
    const int64_t numel = bytes / 4;
    auto engine = engine_for(*engine_comm, numel, o.get_double("bucket_mb"));
    auto buf = torch::empty({numel});
    // Check: every rank contributes rank+1; exact in float32.
    const double want = n * (n + 1) / 2.0;
    for (const auto& b : engine.buffers()) b.fill_(ctx.rank() + 1);
    engine.reduce_buffers();
    buf.fill_(ctx.rank() + 1);
    SPROUT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf.data_ptr(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, plain));
    int64_t wrong = buf.ne(want).sum().item<int64_t>();
    for (const auto& b : engine.buffers()) wrong += b.ne(want).sum().item<int64_t>();
    wrong = runtime::allreduce_int(*ctx.comm, wrong, runtime::ReduceOp::Sum);

    for (const auto& b : engine.buffers()) b.zero_();
    buf.zero_();
    const int iters = static_cast<int>(std::clamp<int64_t>((int64_t{64} << 20) / bytes, 5, 1000));
    auto times = torch::zeros({3, reps}, torch::kFloat64);  // (path, rep)
    auto* t = times.data_ptr<double>();
    for (int r = 0; r < reps; ++r) {
      for (int path = 0; path < 3; ++path) {
        ctx.comm->barrier();
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < iters; ++i) {
          if (path == 0) {
            engine.reduce_buffers();
          } else if (path == 1) {
            SPROUT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf.data_ptr(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, plain));
          } else {
            MPI_Request req;
            SPROUT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, buf.data_ptr(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM,
                                            plain, &req));
            SPROUT_MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
          }
        }
        t[path * reps + r] = seconds(t0) / iters;
      }
    }
    ctx.comm->allreduce(times, runtime::ReduceOp::Max);
    const double te = median(std::vector<double>(t, t + reps));
    const double tm = median(std::vector<double>(t + reps, t + 2 * reps));
    const double ti = median(std::vector<double>(t + 2 * reps, t + 3 * reps));
    const double b = static_cast<double>(numel * 4);
    if (ctx.is_root()) {
      std::printf("  %11lld %7zu %11.1f %12.3f %12.3f %11.1f %10.3f %10.3f %15.3f %10.2f %6lld\n",
                  static_cast<long long>(numel * 4), engine.layout().buckets().size(), te * 1e6, b / te / 1e9,
                  bus * b / te / 1e9, tm * 1e6, b / tm / 1e9, bus * b / tm / 1e9, bus * b / ti / 1e9, tm / te,
                  static_cast<long long>(wrong));
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace sprout::launch
