#include "runtime/checkpoint/async_save.h"

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/error.h"

namespace sprout::runtime {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

std::vector<ShardPiece> HostSnapshot::capture(const CheckpointContent& content, int rank, int world) {
  auto pieces = shard_views(content, rank, world);
  std::map<std::string, torch::Tensor> kept;
  for (auto& piece : pieces) {
    auto it = buffers_.find(piece.name);
    torch::Tensor buffer;
    if (it != buffers_.end() && it->second.sizes() == piece.rows.sizes() &&
        it->second.scalar_type() == piece.rows.scalar_type()) {
      buffer = it->second;
    } else {
      buffer = torch::empty(piece.rows.sizes(), piece.rows.options().device(torch::kCPU));
      ++allocations_;
    }
    buffer.copy_(piece.rows);
    piece.rows = buffer;
    kept[piece.name] = buffer;
  }
  buffers_ = std::move(kept);  // tensors that disappeared (surgery) give their memory back
  return pieces;
}

int64_t HostSnapshot::bytes() const {
  int64_t n = 0;
  for (const auto& [name, t] : buffers_) n += t.numel() * t.element_size();
  return n;
}

void require_async_thread_level() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return;
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  SPROUT_CHECK(level >= MPI_THREAD_FUNNELED, ConfigError, "--checkpoint.async: MPI granted thread level ", level,
               " (below MPI_THREAD_FUNNELED); asynchronous checkpoints need a writer thread");
}

// One write in flight. Shared with the writer thread, which may outlive the writer object
// when it is abandoned after a timeout.
struct AsyncCheckpointWriter::Flight {
  PendingCommit pending;
  PruneRules rules;
  double stall_seconds = 0;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;  // under mutex
  ShardResult result;     // valid once finished

  // Waits until the write finished, at most `timeout` seconds; false on timeout.
  bool wait(double timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::duration<double>(timeout), [&] { return finished; });
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mutex);
    return finished;
  }
};

AsyncCheckpointWriter::AsyncCheckpointWriter() = default;

AsyncCheckpointWriter::~AsyncCheckpointWriter() {
  if (flight_ && flight_->thread.joinable()) flight_->thread.join();
}

std::optional<SaveReport> AsyncCheckpointWriter::save(Communicator& comm, const std::string& dir,
                                                      const std::string& file_name, const CheckpointContent& content,
                                                      const PruneRules& rules) {
  require_async_thread_level();
  std::optional<SaveReport> previous;
  if (flight_) previous = drain(comm);  // at most one in flight
  const auto t0 = Clock::now();
  auto flight = std::make_shared<Flight>();
  flight->rules = rules;
  flight->pending = begin_commit(comm, dir, file_name, content, snapshot_.capture(content, comm.rank(), comm.size()));
  flight->thread = std::thread([flight] {
    ShardResult result = write_shard(flight->pending.file.plan);
    std::lock_guard<std::mutex> lock(flight->mutex);
    if (flight->finished) return;  // given up on after a timeout (drain)
    flight->result = std::move(result);
    flight->finished = true;
    flight->cv.notify_all();
  });
  flight->stall_seconds = since(t0);
  flight_ = std::move(flight);
  return previous;
}

std::optional<SaveReport> AsyncCheckpointWriter::poll(Communicator& comm) {
  if (!flight_) return std::nullopt;
  if (allreduce_int(comm, flight_->done() ? 1 : 0, ReduceOp::Min) == 0) return std::nullopt;
  return commit(comm, 0);
}

std::optional<SaveReport> AsyncCheckpointWriter::drain(Communicator& comm) {
  if (!flight_) return std::nullopt;
  const auto t0 = Clock::now();
  if (!flight_->wait(comm.timeout())) {
    // The writer is stuck (a hung disk): the write counts as failed and the thread is
    // left behind; it owns what it uses (Flight), and the job is about to end.
    flight_->thread.detach();
    std::lock_guard<std::mutex> lock(flight_->mutex);
    flight_->result = ShardResult{};
    flight_->result.error = concat("checkpoint '", flight_->pending.file.path, "': the write did not finish within ",
                                   comm.timeout(), " s");
    flight_->result.crc32.assign(flight_->pending.file.plan.pieces.size(), 0);
    flight_->finished = true;
  }
  return commit(comm, since(t0));
}

SaveReport AsyncCheckpointWriter::commit(Communicator& comm, double waited) {
  auto flight = std::move(flight_);
  if (flight->thread.joinable()) flight->thread.join();
  const auto t0 = Clock::now();
  SaveReport report;
  report.async = true;
  report.commit = complete_commit(comm, flight->pending, flight->result, flight->rules);
  report.wait_seconds = waited;
  report.write_seconds = report.commit.write.write_seconds;
  report.stall_seconds = flight->stall_seconds + waited + since(t0);
  return report;
}

}  // namespace sprout::runtime
