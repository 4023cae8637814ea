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

// One checkpoint in flight: first every rank's write (phase kWriting), then rank 0's
// publication (kPublishing: fsync, rename, `latest`, pruning), each on a background
// thread. Shared with the thread, which may outlive the writer object when it is
// abandoned after a timeout.
struct AsyncCheckpointWriter::Flight {
  enum Phase { kWriting, kPublishing } phase = kWriting;
  PendingCommit pending;
  PruneRules rules;
  double start_seconds = 0, commit_seconds = 0, waited = 0;
  WriteStats sealed;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;   // the current phase's job, under mutex
  bool abandoned = false;  // given up on after a timeout (drain), under mutex
  ShardResult written;    // kWriting's result, valid once finished
  Publication published;  // kPublishing's result (rank 0), valid once finished

  template <class Job>
  void run(Job job, const std::shared_ptr<Flight>& self) {
    finished = false;
    thread = std::thread([self, job] {
      job(*self);  // stores its result under the mutex unless abandoned
      std::lock_guard<std::mutex> lock(self->mutex);
      self->finished = true;
      self->cv.notify_all();
    });
  }
  // Waits until the current job finished, at most `timeout` seconds; false on timeout.
  bool wait(double timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::duration<double>(timeout), [&] { return finished; });
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mutex);
    return finished;
  }
  void join() {
    if (thread.joinable()) thread.join();
  }
};

AsyncCheckpointWriter::AsyncCheckpointWriter() = default;

AsyncCheckpointWriter::~AsyncCheckpointWriter() {
  if (flight_) flight_->join();
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
  flight->pending.file.plan.background = true;
  flight->run(
      [](Flight& f) {
        auto written = write_shard(f.pending.file.plan);
        std::lock_guard<std::mutex> lock(f.mutex);
        if (!f.abandoned) f.written = std::move(written);
      },
      flight);
  flight->start_seconds = since(t0);
  flight_ = std::move(flight);
  return previous;
}

std::optional<SaveReport> AsyncCheckpointWriter::poll(Communicator& comm) {
  if (!flight_) return std::nullopt;
  // Only rank 0 publishes; the others are always done with that phase.
  const bool mine_done = flight_->phase == Flight::kPublishing && comm.rank() != 0 ? true : flight_->done();
  if (allreduce_int(comm, mine_done ? 1 : 0, ReduceOp::Min) == 0) return std::nullopt;
  return advance(comm);
}

std::optional<SaveReport> AsyncCheckpointWriter::drain(Communicator& comm) {
  while (flight_) {
    const auto t0 = Clock::now();
    if ((flight_->phase == Flight::kWriting || comm.rank() == 0) && !flight_->wait(comm.timeout())) {
      // The writer is stuck (a hung disk): this rank's part counts as failed and the
      // thread is left behind (it owns what it uses: Flight); the job is about to end.
      flight_->thread.detach();
      std::lock_guard<std::mutex> lock(flight_->mutex);
      flight_->abandoned = true;
      const std::string error =
          concat("checkpoint '", flight_->pending.file.path, "': the write did not finish within ", comm.timeout(), " s");
      if (flight_->phase == Flight::kWriting) {
        flight_->written = ShardResult{};
        flight_->written.crc32.assign(flight_->pending.file.plan.pieces.size(), 0);
        flight_->written.error = error;
      } else {
        flight_->published.error = error;
      }
    }
    flight_->waited += since(t0);
    if (auto report = advance(comm)) return report;
  }
  return std::nullopt;
}

// Every rank's current job is done: seal and start publishing, or conclude.
std::optional<SaveReport> AsyncCheckpointWriter::advance(Communicator& comm) {
  auto& f = *flight_;
  f.join();
  const auto t0 = Clock::now();
  if (f.phase == Flight::kWriting) {
    try {
      f.sealed = seal_commit(comm, f.pending, f.written);
    } catch (...) {
      flight_.reset();
      throw;
    }
    f.phase = Flight::kPublishing;
    if (comm.rank() == 0) {
      // Deciding what pruning removes may read files (serial HDF5): here, on this thread.
      std::vector<std::string> victims;
      try {
        victims = prune_victims(f.pending.dir, f.rules, f.pending.file_name);
      } catch (const std::exception& e) {
        f.published.error = e.what();
      }
      if (f.published.error.empty()) {
        f.run(
            [victims](Flight& g) {
              auto published = publish_checkpoint(g.pending.dir, g.pending.file_name, victims);
              std::lock_guard<std::mutex> lock(g.mutex);
              if (!g.abandoned) g.published = std::move(published);
            },
            flight_);
      }
    }
    f.commit_seconds += since(t0);
    return std::nullopt;
  }
  auto flight = std::move(flight_);
  SaveReport report;
  report.async = true;
  report.commit = conclude_commit(comm, flight->pending, flight->sealed, flight->published);
  flight->commit_seconds += since(t0);
  report.wait_seconds = flight->waited;
  report.write_seconds = report.commit.write.write_seconds;
  report.start_seconds = flight->start_seconds;
  report.commit_seconds = flight->commit_seconds;
  report.stall_seconds = report.start_seconds + report.wait_seconds + report.commit_seconds;
  report.commit.seconds = report.stall_seconds;
  return report;
}

}  // namespace sprout::runtime
