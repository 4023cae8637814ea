// Asynchronous checkpoints: training stops only to copy this rank's share of the state
// into host memory; a background thread writes it while training continues; the commit
// happens at a later step boundary, once every rank's write is complete.
//
//   save(...)   collective, at a step boundary. If a write is still in flight, first
//               waits for it (the wait is reported) and commits it: at most one
//               checkpoint is in flight. Then snapshots this rank's rows of every tensor
//               into a HostSnapshot (buffers kept between checkpoints, reallocated only
//               when a shape or dtype changed), lays out <name>.tmp (begin_commit,
//               runtime/checkpoint/store.h) and starts the background write_shard.
//   poll()      collective, at every later step boundary while a checkpoint is in
//               flight: one small allreduce agrees whether every rank's write has
//               finished; if so the checksums are agreed and stored (seal_commit,
//               store.h) and rank 0 publishes the file on a background thread (fsync,
//               rename, `latest`, pruning: publish_checkpoint, plain POSIX); a later
//               poll agrees that the publication finished and reports the checkpoint.
//   drain()     collective: waits for the write in flight and commits it (end of run,
//               stop request).
//
// The snapshot is the boundary: growth, width changes and merges after save() change the
// live tensors, never the bytes being written. A failed write (full disk, EIO, a rank
// whose writer threw) is agreed at the commit: every rank throws the same CheckpointError
// naming the file, rank 0 removes the temporary file, and the previous checkpoint stays
// `latest`. A rank killed during the write leaves only <name>.tmp, which is never a
// checkpoint (store.h). A local write that has not finished within the communicator's
// timeout counts as failed.
//
// Threads: the writer thread calls neither MPI nor HDF5 (shard_writer.h); every MPI and
// HDF5 call stays on the thread that calls save/poll/drain. MPI must therefore grant at
// least MPI_THREAD_FUNNELED (require_async_thread_level); runtime/comm/mpi_communicator.h
// asks for MPI_THREAD_MULTIPLE.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/checkpoint/store.h"

namespace sprout::runtime {

// Reusable host memory for this rank's share of a checkpoint.
class HostSnapshot {
 public:
  // Copies this rank's rows of every tensor of `content` (shard_views) into the buffers
  // and returns pieces viewing them, in path order.
  std::vector<ShardPiece> capture(const CheckpointContent& content, int rank, int world);
  int64_t bytes() const;            // held now
  int64_t allocations() const { return allocations_; }  // buffers allocated so far
 private:
  std::map<std::string, torch::Tensor> buffers_;
  int64_t allocations_ = 0;
};

// What one checkpoint cost, reported when it is committed.
struct SaveReport {
  CommitResult commit;
  bool async = false;
  double stall_seconds = 0;  // training blocked: start + commit + waits
  double start_seconds = 0;  // of which: snapshot, layout, starting the writer
  double commit_seconds = 0;  // of which: checksums, fsync, rename, `latest`, pruning
  double wait_seconds = 0;   // of which: waiting for this write to finish
  double write_seconds = 0;  // the slowest rank's background write
};

// Throws ConfigError naming the granted level unless MPI grants at least
// MPI_THREAD_FUNNELED (or MPI is not initialised: no MPI, nothing to share).
void require_async_thread_level();

class AsyncCheckpointWriter {
 public:
  AsyncCheckpointWriter();
  ~AsyncCheckpointWriter();  // joins a write still running (never commits it)
  AsyncCheckpointWriter(const AsyncCheckpointWriter&) = delete;
  AsyncCheckpointWriter& operator=(const AsyncCheckpointWriter&) = delete;

  // Collective. Returns the report of the previous checkpoint if it had to be committed
  // first (its wait_seconds is the wait).
  std::optional<SaveReport> save(Communicator& comm, const std::string& dir, const std::string& file_name,
                                 const CheckpointContent& content, const PruneRules& rules);
  std::optional<SaveReport> poll(Communicator& comm);
  std::optional<SaveReport> drain(Communicator& comm);
  bool in_flight() const { return flight_ != nullptr; }
  const HostSnapshot& snapshot() const { return snapshot_; }

 private:
  struct Flight;
  std::optional<SaveReport> advance(Communicator& comm);

  HostSnapshot snapshot_;
  std::shared_ptr<Flight> flight_;
};

}  // namespace sprout::runtime
