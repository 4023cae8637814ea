// Communicator: the collectives sprout uses, behind one interface (MPI now, NCCL on GPUs).
//
// Contract (every implementation):
//  - Collectives are matched by call order: every rank of a communicator calls the same
//    collectives in the same order, with tensors of the same dtype and element count.
//    Surgery and the data-parallel engine rely on this; a manifest check
//    (runtime/comm/fingerprint.h) turns a violation into a named error instead of a hang.
//  - Tensors passed to collectives are contiguous and live on the communicator's device.
//    Supported dtypes: float32, float64, int32, int64, uint8 (uint8: broadcast/allgather).
//  - A collective that cannot complete within the communicator's timeout throws
//    CommError naming the operation and the phase (e.g. "step 120").
//  - Async calls return a Work; wait() blocks (with the same timeout) and rethrows any
//    error stored by the operation.
//  - Results of allreduce are bitwise identical on every rank.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace sprout::runtime {

enum class ReduceOp { Sum, Avg, Max, Min };

const char* to_string(ReduceOp op);

class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation completed; rethrows its error, if any.
  virtual void wait() = 0;
  // Non-blocking completion check; drives progress where the backend needs it.
  virtual bool test() = 0;
  // Gives up on an operation its caller stopped waiting for (a timeout): the backend
  // releases what it holds without waiting for peers, so that destroying the work does not
  // block again. NCCL aborts its communicator, which then throws on every call; MPI needs
  // nothing (an unfinished request is freed by the work's destructor).
  virtual void cancel() {}
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In-place allreduce over all ranks.
  virtual void allreduce(torch::Tensor& tensor, ReduceOp op) = 0;
  virtual std::shared_ptr<Work> allreduce_async(torch::Tensor tensor, ReduceOp op) = 0;
  // In-place broadcast from `root`.
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  // Returns a tensor of shape [size(), ...tensor.shape] holding every rank's tensor.
  virtual torch::Tensor allgather(const torch::Tensor& tensor) = 0;
  virtual void barrier() = 0;
  // Ranks with the same color form a new communicator, ordered by (key, old rank).
  // Collective over this communicator.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;
  // Ends every process of the job with `code`. Never returns.
  [[noreturn]] virtual void abort(int code) = 0;

  // Label of the current phase (e.g. "step 120"), named by timeout messages.
  void set_phase(std::string phase) { phase_ = std::move(phase); }
  const std::string& phase() const { return phase_; }
  // Seconds a collective may wait before it throws CommError (<= 0: forever).
  void set_timeout(double seconds) { timeout_s_ = seconds; }
  double timeout() const { return timeout_s_; }

 protected:
  std::string phase_ = "start-up";
  double timeout_s_ = 300.0;
};

// Conveniences built on the interface (collective: every rank calls them).
double allreduce_scalar(Communicator& comm, double value, ReduceOp op);
int64_t allreduce_int(Communicator& comm, int64_t value, ReduceOp op);
std::string broadcast_string(Communicator& comm, const std::string& value, int root);
std::vector<std::string> allgather_strings(Communicator& comm, const std::string& value);

}  // namespace sprout::runtime
