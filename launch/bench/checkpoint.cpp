// `sprout bench checkpoint`: the throughput of
// writing and reading one checkpoint of a given size on the current world, beside the
// same bytes written by one process with one plain sequential write (dd-like, 8 MiB
// blocks, then fsync) to the same directory — the disk's own limit; then (--part all or
// stall) the training stall of a synchronous and an asynchronous save
// (launch/bench/checkpoint_stall.h). launch/scripts/checkpoint_bench.sh runs it over
// sizes and world sizes and writes the table of launch/README.md.
//
// Per repeat: checkpoint write = the whole commit protocol (collective HDF5 write of a
// temporary file, fsync on every rank, rename, `latest`), timed from a barrier to the
// slowest rank; then every rank drops the file's pages from the page cache
// (posix_fadvise DONTNEED, possible because fsync made them clean) and the checkpoint is
// read back (collective, checksums verified, shards allgathered); then rank 0 writes and
// reads back the plain file the same way. Prints one row per repeat, the medians, and a
// JSON summary as the last line.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "launch/bench/checkpoint_stall.h"
#include "launch/cli/rank_agreement.h"
#include "launch/cli/commands.h"
#include "launch/cli/option_binder.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/checkpoint/store.h"
#include "runtime/error.h"
#include "runtime/json.h"

namespace sprout::launch {

namespace {

struct BenchOptions {
  double size_mb = 256;
  int64_t tensors = 8;
  int64_t repeat = 3;
  std::string dir = ".";
  std::string part = "all";  // bandwidth | stall | all
  int64_t hidden = 4096;
};

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void drop_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// dd-like: one process, sequential 8 MiB blocks, fsync; returns seconds.
double plain_write(const std::string& path, const std::vector<torch::Tensor>& tensors) {
  const auto t0 = Clock::now();
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  SPROUT_CHECK(fd >= 0, CheckpointError, "cannot create '", path, "'");
  for (const auto& t : tensors) {
    const auto* p = static_cast<const char*>(t.data_ptr());
    size_t left = static_cast<size_t>(t.numel() * t.element_size());
    while (left > 0) {
      const ssize_t n = ::write(fd, p, std::min<size_t>(left, 8u << 20));
      SPROUT_CHECK(n > 0, CheckpointError, "write to '", path, "' failed");
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  SPROUT_CHECK(::fsync(fd) == 0, CheckpointError, "fsync '", path, "' failed");
  ::close(fd);
  return since(t0);
}

double plain_read(const std::string& path) {
  const auto t0 = Clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY);
  SPROUT_CHECK(fd >= 0, CheckpointError, "cannot open '", path, "'");
  std::vector<char> block(8u << 20);
  while (::read(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
  return since(t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Write, restore (read) and the plain file, side by side per repeat; medians into `j`.
void bench_bandwidth(runtime::RuntimeContext& ctx, const BenchOptions& o, const std::string& dir,
                     runtime::JsonObject& j) {
  auto& comm = *ctx.comm;
  // Rows of 1024 float32 (4 KiB); the same values on every rank (a replicated model).
  const int64_t total_rows = std::max<int64_t>(o.tensors, static_cast<int64_t>(o.size_mb * 1e6 / 4096));
  runtime::CheckpointContent content;
  std::vector<torch::Tensor> raw;
  auto gen = at::detail::createCPUGenerator(1);
  for (int64_t i = 0; i < o.tensors; ++i) {
    const int64_t rows = total_rows * (i + 1) / o.tensors - total_rows * i / o.tensors;
    runtime::CheckpointTensor t;
    t.value = at::rand({rows, 1024}, gen);
    raw.push_back(t.value);
    char name[64];
    std::snprintf(name, sizeof name, "/model/layer%03lld/weight", static_cast<long long>(i));
    content.tensors[name] = t;
  }
  const double mb = total_rows * 4096 / 1e6;
  if (ctx.is_root()) {
    std::printf("bench checkpoint: %.1f MB in %lld tensors, %d rank(s), dir %s\n", mb,
                static_cast<long long>(o.tensors), comm.size(), o.dir.c_str());
    std::printf("%-8s %11s %11s %9s %10s %11s %11s %11s\n", "run", "write MB/s", "plain MB/s", "of plain",
                "restore s", "read MB/s", "plain read", "write s");
  }
  std::vector<double> w, r, pw, pr, rs, ws, shard;
  const std::string plain = dir + "/plain-sequential.bin";
  for (int64_t i = 0; i < o.repeat; ++i) {
    comm.barrier();
    auto t0 = Clock::now();
    // No pruning: the write is timed alone (older files are removed below, untimed).
    const auto commit = runtime::commit_checkpoint(comm, dir, runtime::checkpoint_file_name(i), content, {0, {}});
    ws.push_back(runtime::allreduce_scalar(comm, since(t0), runtime::ReduceOp::Max));
    shard.push_back(commit.write.write_seconds);
    w.push_back(mb / ws.back());
    drop_cache(commit.path);
    comm.barrier();
    t0 = Clock::now();
    runtime::read_checkpoint_file(comm, commit.path);
    rs.push_back(runtime::allreduce_scalar(comm, since(t0), runtime::ReduceOp::Max));
    r.push_back(mb / rs.back());
    double plain_w = 0, plain_r = 0;
    if (ctx.is_root()) {
      plain_w = mb / plain_write(plain, raw);
      drop_cache(plain);
      plain_r = mb / plain_read(plain);
      ::unlink(plain.c_str());
      ::unlink(commit.path.c_str());
    }
    pw.push_back(plain_w);  // rank 0 prints
    pr.push_back(plain_r);
    if (ctx.is_root()) {
      std::printf("%-8lld %11.1f %11.1f %8.0f%% %10.3f %11.1f %11.1f %11.3f\n", static_cast<long long>(i + 1), w.back(),
                  pw.back(), 100 * w.back() / pw.back(), rs.back(), r.back(), pr.back(), ws.back());
    }
  }
  if (ctx.is_root()) {
    std::printf("%-8s %11.1f %11.1f %8.0f%% %10.3f %11.1f %11.1f %11.3f\n", "median", median(w), median(pw),
                100 * median(w) / median(pw), median(rs), median(r), median(pr), median(ws));
  }
  j.add("size_mb", mb).add("tensors", o.tensors).add("write_mb_s", median(w)).add("plain_write_mb_s", median(pw))
      .add("write_of_plain", median(w) / median(pw)).add("write_s", median(ws)).add("shard_write_s", median(shard)).add("restore_s", median(rs))
      .add("read_mb_s", median(r)).add("plain_read_mb_s", median(pr));
}

}  // namespace

int run_bench_checkpoint(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  BenchOptions o;
  OptionBinder binder;
  binder.add("size_mb", &o.size_mb, "checkpoint size in MB (float32 tensors, replicated on every rank)");
  binder.add("tensors", &o.tensors, "number of tensors the size is split into");
  binder.add("repeat", &o.repeat, "measurements (the median is reported)");
  binder.add("dir", &o.dir, "write in a fresh subdirectory of this directory (removed afterwards)");
  binder.add("part", &o.part, "bandwidth (write/read vs plain) | stall (sync vs async save in training) | all");
  binder.add("hidden", &o.hidden, "stall: width of the MLP 784-H-H-10 trained with AdamW (4096: ~241 MB)");
  const auto& table = binder.table();
  bool help = false;
  agree(*ctx.comm, [&] {
    const auto opts = Options::parse(table, args);
    help = opts.help();
    binder.load(opts);
    SPROUT_CHECK(o.size_mb > 0 && o.size_mb <= 65536, ConfigError, "--size_mb: ", o.size_mb, " must be in (0, 65536]");
    SPROUT_CHECK(o.tensors > 0 && o.tensors <= 100000, ConfigError, "--tensors: ", o.tensors, " must be in [1, 100000]");
    SPROUT_CHECK(o.repeat > 0 && o.repeat <= 100, ConfigError, "--repeat: ", o.repeat, " must be in [1, 100]");
    SPROUT_CHECK(!o.dir.empty(), ConfigError, "--dir: '' must name a directory");
    SPROUT_CHECK(o.part == "bandwidth" || o.part == "stall" || o.part == "all", ConfigError, "--part: '", o.part,
                 "' is not bandwidth, stall or all");
    SPROUT_CHECK(o.hidden > 0 && o.hidden <= 32768, ConfigError, "--hidden: ", o.hidden, " must be in [1, 32768]");
  });
  if (help) {
    if (ctx.is_root()) std::printf("%s", format_help(table, "usage: sprout bench checkpoint [options]").c_str());
    return 0;
  }
  auto& comm = *ctx.comm;
  comm.set_timeout(std::max(comm.timeout(), 1800.0));

  // A fresh directory of our own inside --dir: pruning and clean-up never touch anything else.
  std::string dir;
  if (ctx.is_root()) {
    ::mkdir(o.dir.c_str(), 0777);
    std::string tmpl = o.dir + "/sprout-bench-XXXXXX";
    dir = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  dir = runtime::broadcast_string(comm, dir, 0);
  SPROUT_CHECK(!dir.empty(), CheckpointError, "--dir: cannot create a directory in '", o.dir, "'");
  runtime::JsonObject j;
  j.add("bench", "checkpoint").add("ranks", comm.size());
  if (o.part != "stall") bench_bandwidth(ctx, o, dir, j);
  if (o.part != "bandwidth") j.add("stall", bench_checkpoint_stall(ctx, {o.hidden, 32, o.repeat, dir}));
  if (ctx.is_root()) {
    std::printf("%s\n", j.str().c_str());
    std::fflush(stdout);
    for (const auto& f : runtime::list_checkpoints(dir, {})) ::unlink((dir + "/" + f).c_str());
    ::unlink((dir + "/latest").c_str());
    ::rmdir(dir.c_str());
    ::rmdir(o.dir.c_str());  // only if empty
  }
  comm.barrier();
  return 0;
}

}  // namespace sprout::launch
