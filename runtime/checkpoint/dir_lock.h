// One job per checkpoint directory. Two jobs writing the same directory would prune each
// other's checkpoints, so a job that writes checkpoints first takes an exclusive lock on
// <dir>/lock and holds it until it ends.
//
// The lock is flock(2) on that file, held by rank 0 (every job has exactly one rank 0, so
// one holder per job suffices whatever the number of ranks per node). The kernel drops it
// when the process ends, however it ends (kill -9 included): a dead job never leaves a
// stale lock behind, and the file itself (which records the holder's host and pid, for
// the message) may stay. On NFS, Linux implements flock with the server's byte-range
// locks, so jobs on different nodes exclude each other; a file system without locks
// (Lustre mounted without -o flock) makes flock fail, and the job goes on unlocked with a
// warning rather than refusing to run.
#pragma once

#include <memory>
#include <string>

#include "runtime/comm/communicator.h"

namespace sprout::runtime {

class CheckpointDirLock {
 public:
  // Collective. Rank 0 creates `dir` if needed and takes the lock. If another process
  // holds it, every rank throws ConfigError "checkpoint.dir '<dir>' is in use by another
  // job (<holder>)"; any other failure to create or open it throws CheckpointError.
  // `warning` receives the reason when the file system offers no locks ("" otherwise).
  static std::unique_ptr<CheckpointDirLock> acquire(Communicator& comm, const std::string& dir, std::string* warning);
  ~CheckpointDirLock();
  CheckpointDirLock(const CheckpointDirLock&) = delete;
  CheckpointDirLock& operator=(const CheckpointDirLock&) = delete;

 private:
  explicit CheckpointDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;  // rank 0's open lock file; -1 elsewhere
};

}  // namespace sprout::runtime
