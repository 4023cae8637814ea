// `sprout bench calibrate`: measures what `sprout plan` predicts from (launch/plan/
// calibration.h) and writes it to --out as one JSON object. Run it with the ranks one node
// will hold (mpirun -np R), or across two or more nodes to measure the network too: every
// rank computes at once, so the compute rate includes their contention for cores and
// memory bandwidth.
//   nodes        which ranks share a node: MPI_COMM_TYPE_SHARED (--ranks_per_node 0), or
//                blocks of K consecutive ranks posing as nodes (--ranks_per_node K)
//   compute      --steps timed forward + backward passes of --arch (after --warmup),
//                median, slowest rank, divided by --batch; and the optimizer's update of
//                that model's parameters (SGD with momentum, AdamW), per parameter element;
//                each in wall-clock and in the process's CPU time, with the node's cores;
//   engine       the data-parallel engine's CPU time per gradient byte of that model in
//                its buckets (--bucket_mb): the hooks' copy of the gradients into the
//                buckets, and the reduction of the buckets (on 2 or more ranks)
//   trainer      the training step's own work beyond that (the sampler's batch, its
//                assembly and normalisation, the labels, the loss read back, the engine's
//                and the schedule's bookkeeping): --steps of Trainer::train_step on the
//                same model (synthetic data, each rank training alone) minus a forward +
//                backward pass of the same batch and the SGD update, at --batch and an
//                eighth of it: a cost per batch and a cost per example
//   node link    ping-pong between rank 0 and the next rank of its node, 8 B … 2 MiB: α the
//                one-way time of 8 B, β the slope between the two largest (no second rank
//                on rank 0's node: the defaults of runtime/comm/allreduce_cost.h, marked as such)
//   between      nodes: the same ping-pong between rank 0 and the first rank of the next
//                node; on one node the built-in default. --between_alpha_us and
//                --between_gbps, when given, override either (the source says which)
//   collectives  MPI_Allreduce, the engine's ring (RingAllreduce), hierarchical and scattered
//                hierarchical allreduces (over the nodes above), MPI_Reduce_scatter_block and MPI_Allgather,
//                4 KiB … --max_bytes, median of --reps (each about 20 ms of calls), slowest rank
//   checkpoint   every rank writes --checkpoint_mb MiB into --dir and fsyncs: total bytes
//                over the slowest rank's time
#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "growth/models/family.h"
#include "growth/models/macs.h"
#include "growth/models/model.h"
#include "launch/bench/bench.h"
#include "launch/plan/calibration.h"
#include "launch/train/train_config.h"
#include "launch/train/trainer.h"
#include "runtime/comm/hierarchical_allreduce.h"
#include "runtime/comm/scattered_hierarchical_allreduce.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/engine/allocator.h"
#include "runtime/engine/bucket_reducer.h"
#include "runtime/engine/polling.h"
#include "runtime/engine/threads.h"
#include "runtime/error.h"
#include "runtime/optim/optimizer.h"
#include "runtime/torch_compat.h"

namespace sprout::launch {

namespace {

OptionTable calibrate_table() {
  return {
      {"out", "calibration.json", "where the calibration is written (JSON)"},
      {"arch", "kind=mlp;in=1x28x28;classes=10;widths=1024,1024", "the model whose compute is timed (any family)"},
      {"batch", "64", "examples per rank in each timed step"},
      {"steps", "10", "timed forward + backward passes"},
      {"warmup", "3", "untimed passes first"},
      {"threads", "0", "intra-op threads per rank (0: cores / ranks on this node)"},
      {"max_bytes", "16777216", "largest collective message (16 MiB)"},
      {"reps", "5", "repetitions per message size and of the engine's reduction (median)"},
      {"bucket_mb", "25", "gradient bucket cap in MiB the engine's CPU work is measured at (runtime.bucket_mb of the runs to plan)"},
      {"dir", "/tmp", "directory the checkpoint write is timed in"},
      {"checkpoint_mb", "64", "MiB each rank writes"},
      {"ranks_per_node", "0", "0: ranks sharing memory form a node (MPI_COMM_TYPE_SHARED); K: blocks of K ranks"},
      {"between_alpha_us", "0", "latency between nodes in µs, overriding the measurement (0: measured on "
                                "several nodes, 20 on one)"},
      {"between_gbps", "0", "bandwidth between nodes in Gbit/s, overriding the measurement (0: measured on "
                            "several nodes, 10 on one)"},
  };
}

void check_calibrate(const Options& o) {
  growth::ArchSpec::parse(o.get("arch"));  // throws ConfigError naming the bad setting
  for (const char* key : {"batch", "steps", "reps", "checkpoint_mb"}) {
    SPROUT_CHECK(o.get_int(key) > 0 && o.get_int(key) <= 1000000, ConfigError, "--", key, ": ", o.get_int(key),
                 " must be in [1, 1000000]");
  }
  SPROUT_CHECK(o.get_int("warmup") >= 0, ConfigError, "--warmup: ", o.get_int("warmup"), " must be >= 0");
  SPROUT_CHECK(o.get_int("threads") >= 0 && o.get_int("threads") <= 1024, ConfigError, "--threads: ",
               o.get_int("threads"), " must be in [0, 1024]");
  SPROUT_CHECK(o.get_double("bucket_mb") > 0 && o.get_double("bucket_mb") <= 4096, ConfigError, "--bucket_mb: ",
               o.get_double("bucket_mb"), " must be in (0, 4096]");
  const int64_t hi = o.get_int("max_bytes");
  SPROUT_CHECK(hi >= 4096 && hi <= (int64_t{1} << 30), ConfigError, "--max_bytes: ", hi, " must be in [4096, 1 GiB]");
  for (const char* key : {"between_alpha_us", "between_gbps"}) {
    SPROUT_CHECK(o.get_double(key) >= 0 && o.get_double(key) < 1e9, ConfigError, "--", key, ": ", o.get_double(key),
                 " must be in [0, 1e9) (0: measured)");
  }
  SPROUT_CHECK(o.get_int("ranks_per_node") >= 0 && o.get_int("ranks_per_node") <= 65536, ConfigError,
               "--ranks_per_node: ", o.get_int("ranks_per_node"), " must be in [0, 65536]");
  SPROUT_CHECK(!o.get("out").empty(), ConfigError, "--out: must name a file");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Timing {
  double wall_s = 0, cpu_s = 0;
};

// Median over repetitions of the slowest rank's wall-clock time and process CPU time of
// `op` (the CPU time does not grow when other work shares the cores; the wall time does).
template <typename Op>
Timing timed_both(runtime::Communicator& comm, int reps, Op op) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < reps; ++r) {
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = process_cpu_seconds();
    op();
    const double c = process_cpu_seconds() - c0;
    wall.push_back(runtime::allreduce_scalar(comm, seconds_since(t0), runtime::ReduceOp::Max));
    cpu.push_back(runtime::allreduce_scalar(comm, c, runtime::ReduceOp::Max));
  }
  return {median(wall), median(cpu)};
}

// Median over repetitions of the slowest rank's time of `op`.
template <typename Op>
double timed(runtime::Communicator& comm, int reps, Op op) {
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    op();
    times.push_back(runtime::allreduce_scalar(comm, seconds_since(t0), runtime::ReduceOp::Max));
  }
  return median(times);
}

void measure_compute(runtime::RuntimeContext& ctx, const Options& o, Calibration& c) {
  const auto arch = growth::ArchSpec::parse(o.get("arch"));
  auto model = growth::build_model(arch, 1);
  const int64_t batch = o.get_int("batch");
  auto gen = compat::make_generator(11 + ctx.rank());
  auto x = at::randn({batch, arch.in_channels, arch.in_height, arch.in_width}, gen);
  auto y = torch::randint(arch.classes, {batch}, torch::kInt64);
  auto pass = [&] {
    model->params().zero_grad();
    torch::nll_loss(torch::log_softmax(model->forward(x, true), 1), y).backward();
  };
  for (int64_t i = 0; i < o.get_int("warmup"); ++i) pass();
  const Timing step = timed_both(*ctx.comm, static_cast<int>(o.get_int("steps")), pass);
  // The update: a memory-bound pass over parameters, gradients and state, outside forward
  // and backward (the first step creates the state: untimed).
  std::vector<torch::Tensor> grads;
  for (const auto& p : model->params().parameters()) grads.push_back(torch::randn_like(p));
  const double elements = static_cast<double>(model->params().parameter_numel());
  for (const char* name : {"sgd", "adamw"}) {
    runtime::OptimizerOptions options;
    options.name = name;
    options.lr = 1e-6;
    auto optimizer = runtime::make_optimizer(options);
    optimizer->step(model->params(), grads, options.lr);
    const Timing s = timed_both(*ctx.comm, static_cast<int>(o.get_int("steps")),
                                [&] { optimizer->step(model->params(), grads, options.lr); });
    const bool sgd = std::string(name) == "sgd";
    (sgd ? c.sgd_update_s_per_element : c.adamw_update_s_per_element) = s.wall_s / elements;
    (sgd ? c.sgd_update_cpu_s_per_element : c.adamw_update_cpu_s_per_element) = s.cpu_s / elements;
  }
  c.arch = arch.serialize();
  c.batch = batch;
  c.macs_per_example = static_cast<double>(growth::macs_per_example(arch));
  c.seconds_per_example = step.wall_s / static_cast<double>(batch);
  c.cpu_seconds_per_example = step.cpu_s / static_cast<double>(batch);
  c.cores = static_cast<int>(std::max(0L, ::sysconf(_SC_NPROCESSORS_ONLN)));
}

// The training step's work outside forward + backward + update at `batch` examples, wall
// and CPU: Trainer::train_step (the code `sprout train` runs; synthetic data, SGD with
// momentum) minus a forward + backward pass of a model of the same architecture (without
// the engine's hooks) on a batch of that size, timed right after it, and the calibrated SGD
// update; the median over --steps such pairs (back to back, so a change of load in between
// cancels), the slowest rank's. Each rank trains alone on `alone`, so no communication is
// in it; all ranks at once, as measure_compute's passes ran.
Timing trainer_overhead_at(runtime::RuntimeContext& ctx, runtime::Communicator& alone, const growth::ArchSpec& arch,
                           int64_t batch, const Options& o, const Calibration& c) {
  auto config = read_train_config(Options::defaults(train_option_table()));
  config.data.name = "synthetic";
  config.data.synthetic_train = std::max<int64_t>(1024, batch);
  config.model = arch;
  config.train.batch = batch;
  config.train.steps = o.get_int("warmup") + o.get_int("steps") + 1;
  config.optim.name = "sgd";
  config.optim.momentum = 0.9;
  config.schedule.name = "constant";
  config.log.progress = "none";
  config.runtime.threads = c.threads;
  runtime::RuntimeContext own = ctx;
  own.comm = &alone;
  own.local_rank = 0;
  Trainer trainer(own, config);
  trainer.prepare();
  auto model_ptr = growth::build_model(trainer.model().arch(), 1);
  auto& model = *model_ptr;
  auto gen = compat::make_generator(13 + ctx.rank());
  auto x = at::randn({batch, arch.in_channels, arch.in_height, arch.in_width}, gen);
  auto y = torch::randint(arch.classes, {batch}, torch::kInt64);
  auto pass = [&] {
    model.params().zero_grad();
    torch::nll_loss(torch::log_softmax(model.forward(x, true), 1), y).backward();
  };
  for (int64_t i = 0; i <= o.get_int("warmup"); ++i) trainer.train_step(), pass();  // the first creates the state
  const double elements = static_cast<double>(model.params().parameter_numel());
  std::vector<double> wall, cpu;
  for (int64_t i = 0; i < o.get_int("steps"); ++i) {
    ctx.comm->barrier();
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = process_cpu_seconds();
    trainer.train_step();
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = process_cpu_seconds();
    pass();
    const double pass_wall = seconds_since(t1), pass_cpu = process_cpu_seconds() - c1;
    wall.push_back(std::chrono::duration<double>(t1 - t0).count() - pass_wall - c.sgd_update_s_per_element * elements);
    cpu.push_back(c1 - c0 - pass_cpu - c.sgd_update_cpu_s_per_element * elements);
  }
  return {runtime::allreduce_scalar(*ctx.comm, median(wall), runtime::ReduceOp::Max),
          runtime::allreduce_scalar(*ctx.comm, median(cpu), runtime::ReduceOp::Max)};
}

// The trainer's own work as a cost per batch plus a cost per example: measured at --batch
// and at an eighth of it, the straight line through both (a batch of 1: the whole as a cost
// per batch). Differences of noisy medians below zero mean "too small to see": 0, said so.
// Synthetic data is 1x28x28 in 10 classes: another model input is not measured (0, said so).
void measure_trainer_overhead(runtime::RuntimeContext& ctx, const Options& o, Calibration& c) {
  const auto arch = growth::ArchSpec::parse(o.get("arch"));
  auto alone = ctx.comm->split(ctx.rank(), 0);  // collective: every rank takes part
  if (arch.in_channels != 1 || arch.in_height != 28 || arch.in_width != 28 || arch.classes != 10) {
    c.trainer_source = "not measured (synthetic data is 1x28x28 in 10 classes, the model's input is not)";
    return;
  }
  const int64_t large = o.get_int("batch"), small = std::max<int64_t>(1, large / 8);
  const Timing at_large = trainer_overhead_at(ctx, *alone, arch, large, o, c);
  const Timing at_small = small < large ? trainer_overhead_at(ctx, *alone, arch, small, o, c) : at_large;
  bool clamped = false;
  auto line = [&](double lo, double hi, double& per_batch, double& per_example) {
    per_example = small < large ? (hi - lo) / static_cast<double>(large - small) : 0.0;
    if (per_example < 0) per_example = 0, clamped = true;
    per_batch = lo - per_example * static_cast<double>(small);
    if (per_batch < 0) per_batch = 0, clamped = true;
  };
  line(at_small.wall_s, at_large.wall_s, c.trainer_s_per_batch, c.trainer_s_per_example);
  line(at_small.cpu_s, at_large.cpu_s, c.trainer_cpu_s_per_batch, c.trainer_cpu_s_per_example);
  c.trainer_source = concat("measured: Trainer::train_step minus forward + backward + SGD update, ",
                            at_small.cpu_s * 1e3, " ms CPU at batch ", small, ", ", at_large.cpu_s * 1e3,
                            " ms at batch ", large, clamped ? " (a part below 0: 0)" : "");
}

// α, β of t = α + β·b: α the smallest message's time, β the slope between the two
// largest (a least-squares fit is dominated by the large messages and can give α < 0);
// where noise makes that slope non-positive, the largest message's time per byte.
runtime::LinkCost fit(const std::vector<double>& bytes, const std::vector<double>& t) {
  const size_t k = bytes.size();
  double beta = (t[k - 1] - t[k - 2]) / (bytes[k - 1] - bytes[k - 2]);
  if (!(beta > 0)) beta = t[k - 1] / bytes[k - 1];
  return {std::max(1e-9, t[0] - std::max(0.0, beta) * bytes[0]), std::max(1e-15, beta)};
}

// The world ranks rank 0 ping-pongs with: the next rank of its own node and the first rank
// of another node (-1: none). The same on every rank (gathered).
struct LinkPeers {
  int inside = -1, between = -1;
};

LinkPeers link_peers(const runtime::NodeGroups& groups, MPI_Comm world, int rank, int size) {
  int leader = rank;  // every rank learns its node leader's world rank
  SPROUT_MPI_CHECK(MPI_Bcast(&leader, 1, MPI_INT, 0, groups.node()));
  std::vector<int> leaders(static_cast<size_t>(size));
  SPROUT_MPI_CHECK(MPI_Allgather(&leader, 1, MPI_INT, leaders.data(), 1, MPI_INT, world));
  LinkPeers p;
  for (int r = 1; r < size; ++r) {
    if (leaders[r] == leaders[0] && p.inside < 0) p.inside = r;
    if (leaders[r] != leaders[0] && p.between < 0) p.between = r;
  }
  return p;
}

// Every rank of `comm` waits here for all others, polling a nonblocking barrier without
// spinning (runtime/engine/polling.h): a rank with nothing to do leaves the cores to those
// at work — Open MPI's blocking calls would spin, and on an oversubscribed node every
// message of a ping-pong would then wait for a time slice.
void sleeping_barrier(MPI_Comm comm) {
  MPI_Request request;
  SPROUT_MPI_CHECK(MPI_Ibarrier(comm, &request));
  runtime::poll_until(
      [&] {
        int done = 0;
        SPROUT_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
        return done != 0;
      },
      0.0);
}

// Waits for one of the engine's reductions as the engine waits for its buckets
// (runtime/engine/polling.h; Work::wait() blocks in MPI, which spins).
void wait_as_the_engine(runtime::Work&& work) {
  runtime::poll_until([&] { return work.test(); });
}

// α–β of the link between world ranks 0 and `peer` from a ping-pong, 8 B … 2 MiB: the
// one-way time of each size is half the median round trip, each trip timed on rank 0 (a
// trip on which a rank waited for a time slice — on a node with more ranks than cores — is
// an outlier the median drops, where a mean over trips would spread it over all). --reps
// batches of trips per size, each about 20 ms' worth from one timed trip (the slowest
// rank's, so every rank agrees), 2 to 200 — a slow network link stays quick to measure.
// Ranks other than 0 and `peer` wait in sleeping_barrier while the two exchange. Every
// rank returns rank 0's fit.
runtime::LinkCost ping_pong(runtime::RuntimeContext& ctx, MPI_Comm comm, int peer, int reps) {
  std::vector<double> sizes, one_way;
  for (int64_t bytes = 8; bytes <= (int64_t{2} << 20); bytes *= 8) {
    std::vector<char> buf(static_cast<size_t>(bytes));
    const int count = static_cast<int>(bytes);
    std::vector<double> round_trips;  // rank 0's
    auto trips_of = [&](int trips) {
      for (int i = 0; i < trips; ++i) {
        if (ctx.rank() == 0) {
          const auto t0 = std::chrono::steady_clock::now();
          SPROUT_MPI_CHECK(MPI_Send(buf.data(), count, MPI_CHAR, peer, 0, comm));
          SPROUT_MPI_CHECK(MPI_Recv(buf.data(), count, MPI_CHAR, peer, 0, comm, MPI_STATUS_IGNORE));
          round_trips.push_back(seconds_since(t0));
        } else if (ctx.rank() == peer) {
          SPROUT_MPI_CHECK(MPI_Recv(buf.data(), count, MPI_CHAR, 0, 0, comm, MPI_STATUS_IGNORE));
          SPROUT_MPI_CHECK(MPI_Send(buf.data(), count, MPI_CHAR, 0, 0, comm));
        }
      }
      sleeping_barrier(comm);
    };
    const double once = timed(*ctx.comm, 1, [&] { trips_of(1); });
    const int trips = static_cast<int>(std::clamp(0.02 / std::max(once, 1e-7), 2.0, 200.0));
    round_trips.clear();
    for (int r = 0; r < reps; ++r) trips_of(trips);
    double t = ctx.rank() == 0 ? median(round_trips) / 2 : 0.0;
    SPROUT_MPI_CHECK(MPI_Bcast(&t, 1, MPI_DOUBLE, 0, comm));
    sizes.push_back(static_cast<double>(bytes));
    one_way.push_back(t);
  }
  return fit(sizes, one_way);
}

void measure_links(runtime::RuntimeContext& ctx, MPI_Comm world, const runtime::NodeGroups& groups, const Options& o,
                   Calibration& c) {
  const int reps = static_cast<int>(o.get_int("reps"));
  const LinkPeers peers = link_peers(groups, world, ctx.rank(), ctx.size());
  const auto defaults = runtime::default_cluster_links();
  const char* fitted = "(alpha at 8 B, beta between 256 KiB and 2 MiB)";
  if (peers.inside >= 0) {
    c.links.node = ping_pong(ctx, world, peers.inside, reps);
    c.node_link_source = concat("measured: ping-pong rank 0 <-> ", peers.inside, " on its node ", fitted);
  } else {
    c.links.node = defaults.node;
    c.node_link_source = "default (no second rank on rank 0's node: nothing to measure)";
  }
  if (peers.between >= 0) {
    c.links.between = ping_pong(ctx, world, peers.between, reps);
    c.between_link_source = concat("measured: ping-pong rank 0 <-> ", peers.between, " on another node ", fitted);
  } else {
    c.links.between = defaults.between;
    c.between_link_source = "default (one node: nothing to measure)";
  }
  const double alpha_us = o.get_double("between_alpha_us"), gbps = o.get_double("between_gbps");
  if (alpha_us > 0) c.links.between.alpha_s = alpha_us * 1e-6;
  if (gbps > 0) c.links.between.beta_s_per_byte = 8.0 / (gbps * 1e9);
  if (alpha_us > 0 || gbps > 0) {
    c.between_link_source = concat("input: ", alpha_us > 0 ? "--between_alpha_us " : "",
                                   gbps > 0 ? "--between_gbps " : "", "(else ", c.between_link_source, ")");
  }
}

void measure_collectives(runtime::RuntimeContext& ctx, MPI_Comm comm, const runtime::NodeGroups& groups,
                         const Options& o, Calibration& c) {
  const int n = ctx.size(), reps = static_cast<int>(o.get_int("reps"));
  const runtime::ChunkOwners owners(comm, groups);
  for (int64_t bytes = 4096; bytes <= o.get_int("max_bytes"); bytes *= 4) {
    const int64_t numel = std::max<int64_t>(n, bytes / 4 / n * n);  // divisible: reduce-scatter blocks
    auto buf = torch::ones({numel});
    auto out = torch::empty({numel * n});
    auto scratch = torch::empty({numel});
    const int count = static_cast<int>(numel), block = static_cast<int>(numel / n);
    // Calls per timed repetition: about 20 ms' worth from one timed call (the slowest
    // rank's: every rank agrees), 1 to 200 — quick on a slow network as on shared memory.
    auto repeat = [&](auto op) {
      const double once = timed(*ctx.comm, 1, op);
      const int iters = static_cast<int>(std::clamp(0.02 / std::max(once, 1e-7), 1.0, 200.0));
      return timed(*ctx.comm, reps, [&] { for (int i = 0; i < iters; ++i) op(); }) / iters;
    };
    CollectiveTiming t;
    t.bytes = static_cast<double>(numel * 4);
    t.mpi_allreduce_s = repeat([&] {
      SPROUT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf.data_ptr(), count, MPI_FLOAT, MPI_SUM, comm));
    });
    t.ring_allreduce_s = repeat([&] { wait_as_the_engine(runtime::RingAllreduce(comm, buf, torch::Tensor(), 1, nullptr, "calibrate", 600)); });
    const auto leaders = runtime::cheaper_leader_algorithm(groups.node_count(), t.bytes, c.links.between);
    t.hierarchical_allreduce_s = repeat([&] {
      wait_as_the_engine(runtime::HierarchicalAllreduce(groups, buf, scratch, 1, leaders, nullptr, "calibrate", 600));
    });
    const auto between = runtime::cheaper_leader_algorithm(
        groups.node_count(), t.bytes / groups.max_node_size(), runtime::scattered_between_link(groups.max_node_size(), c.links));
    t.scattered_allreduce_s = repeat([&] {
      wait_as_the_engine(
          runtime::ScatteredHierarchicalAllreduce(groups, owners, buf, scratch, 1, between, nullptr, "calibrate", 600));
    });
    t.reduce_scatter_s = repeat([&] {
      SPROUT_MPI_CHECK(MPI_Reduce_scatter_block(buf.data_ptr(), out.data_ptr(), block, MPI_FLOAT, MPI_SUM, comm));
    });
    t.allgather_s = repeat([&] {
      SPROUT_MPI_CHECK(MPI_Allgather(buf.data_ptr(), count, MPI_FLOAT, out.data_ptr(), count, MPI_FLOAT, comm));
    });
    c.collectives.push_back(t);
  }
}

// The engine's own CPU work per gradient byte of --arch, as a training step does it on
// `ranks` ranks: the model's parameters in their buckets (--bucket_mb, the first bucket at
// most 1 MiB, as DataParallel builds them) on a communicator split off the world (as
// DataParallel's); per repetition, the gradient hooks' part — add() of every scaled
// gradient in backward's order, which starts each bucket as it fills — and finish()'s part,
// the rest of the reduction (waits poll and sleep as in training, so the time a rank waits
// for a late peer costs it little CPU and the copies and additions count). Medians over
// --reps, the slowest rank's.
void measure_engine_cpu(runtime::RuntimeContext& ctx, const Options& o, Calibration& c) {
  if (ctx.size() < 2) return;
  const auto model = growth::build_model(growth::ArchSpec::parse(o.get("arch")), 1);
  const auto& params = model->params().parameters();
  const double mib = 1024.0 * 1024.0, bucket_mb = o.get_double("bucket_mb");
  auto layout = runtime::BucketLayout::build(params, static_cast<size_t>(bucket_mb * mib),
                                             static_cast<size_t>(std::min(1.0, bucket_mb) * mib));
  std::vector<std::vector<int64_t>> shapes;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) shapes.push_back(p.sizes().vec()), grads.push_back(torch::randn_like(p));
  auto own = ctx.comm->split(0, ctx.rank());  // collective
  runtime::BucketReducer reducer(*own, std::move(layout), shapes, 1.0 / ctx.size());
  std::vector<double> copy, reduce;
  for (int64_t r = -1; r < o.get_int("reps"); ++r) {  // the first touches the buffers: untimed
    ctx.comm->barrier();
    const double c0 = process_cpu_seconds();
    reducer.begin();
    for (size_t i = params.size(); i-- > 0;) reducer.add(i, grads[i]);
    const double c1 = process_cpu_seconds();
    reducer.finish();
    const double c2 = process_cpu_seconds();
    if (r >= 0) copy.push_back(c1 - c0), reduce.push_back(c2 - c1);
  }
  const double bytes = 4.0 * static_cast<double>(model->params().parameter_numel());
  c.bucket_copy_cpu_s_per_byte = runtime::allreduce_scalar(*ctx.comm, median(copy), runtime::ReduceOp::Max) / bytes;
  c.reduction_cpu_s_per_byte = runtime::allreduce_scalar(*ctx.comm, median(reduce), runtime::ReduceOp::Max) / bytes;
  c.bucket_mb = bucket_mb;
}

void measure_checkpoint(runtime::RuntimeContext& ctx, const Options& o, Calibration& c) {
  const int64_t bytes = o.get_int("checkpoint_mb") << 20;
  const std::string path = concat(o.get("dir"), "/sprout-calibrate-", ::getpid(), "-", ctx.rank(), ".bin");
  std::vector<char> chunk(size_t{1} << 20, 7);
  const double t = timed(*ctx.comm, 1, [&] {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    SPROUT_CHECK(fd >= 0, ConfigError, "--dir: cannot write '", path, "'");
    for (int64_t done = 0; done < bytes; done += static_cast<int64_t>(chunk.size())) {
      SPROUT_CHECK(::write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()), Error,
                   "calibrate: writing '", path, "' failed");
    }
    ::fsync(fd);
    ::close(fd);
  });
  ::unlink(path.c_str());
  c.checkpoint_bytes_per_s = static_cast<double>(bytes) * ctx.size() / t;
}

}  // namespace

int bench_calibrate(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  Options o;
  if (!parse_bench_options(ctx, calibrate_table(), args, "usage: sprout bench calibrate [--out FILE] [--arch TEXT]", o,
                           check_calibrate)) {
    return 0;
  }
  auto* world = dynamic_cast<runtime::MpiCommunicator*>(ctx.comm);
  SPROUT_CHECK(world != nullptr, ConfigError, "bench calibrate: needs the MPI backend");
  const int threads = o.get_int("threads") > 0 ? static_cast<int>(o.get_int("threads"))
                                                : runtime::default_threads(ctx.local_size);
  runtime::configure_threads(threads);
  // Training's allocator behaviour (runtime/engine/allocator.h): without it every pass
  // page-faults its temporaries afresh, and compute and the update measure slower than a
  // training step runs them.
  runtime::retain_freed_memory();
  Calibration c;
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  c.host = host;
  c.ranks = ctx.size();
  c.threads = threads;
  measure_compute(ctx, o, c);
  measure_trainer_overhead(ctx, o, c);
  {
    // Raw MPI calls below: the watchdog ends the job if a peer is gone, instead of a hang.
    runtime::Watchdog::Guard guard(world->watchdog(), "bench calibrate: point-to-point and collectives",
                                   "calibrate", ctx.comm->timeout());
    const int per_node = static_cast<int>(o.get_int("ranks_per_node"));
    const runtime::NodeGroups groups(world->handle(), per_node);
    c.nodes = groups.node_count();
    c.ranks_per_node = groups.max_node_size();
    c.node_split = per_node > 0 ? concat("blocks of ", per_node, " ranks (--ranks_per_node)") : "MPI_COMM_TYPE_SHARED";
    measure_links(ctx, world->handle(), groups, o, c);
    measure_collectives(ctx, world->handle(), groups, o, c);
    measure_engine_cpu(ctx, o, c);
  }
  measure_checkpoint(ctx, o, c);
  if (ctx.is_root()) {
    std::ofstream out(o.get("out"));
    out << c.to_json().str() << "\n";
    SPROUT_CHECK(out.good(), ConfigError, "--out: cannot write '", o.get("out"), "'");
    std::printf("calibration written to %s: %.3g ms per example (%s, batch %lld, %d ranks on %d node%s), node link "
                "%.2f us + %.3g GB/s, between nodes %.2f us + %.3g GB/s (%s), checkpoint %.0f MB/s; the trainer's own "
                "work %.3g ms CPU per batch + %.3g ms per example (%s)\n",
                o.get("out").c_str(), c.seconds_per_example * 1e3, c.arch.c_str(), static_cast<long long>(c.batch),
                c.ranks, c.nodes, c.nodes == 1 ? "" : "s", c.links.node.alpha_s * 1e6, 1e-9 / c.links.node.beta_s_per_byte,
                c.links.between.alpha_s * 1e6, 1e-9 / c.links.between.beta_s_per_byte,
                c.between_link_source.c_str(), c.checkpoint_bytes_per_s / 1e6, c.trainer_cpu_s_per_batch * 1e3,
                c.trainer_cpu_s_per_example * 1e3,
                c.trainer_source.c_str());
  }
  return 0;
}

}  // namespace sprout::launch
