#include "runtime/comm/nccl_guard.h"

#include <chrono>
#include <exception>
#include <thread>

#include "runtime/error.h"

namespace sprout::runtime {

NcclArgs nccl_args(torch::ScalarType dtype, ReduceOp op, const char* what) {
  NcclArgs args;
  args.op = op;
  switch (dtype) {
    case torch::kBool:
      args.element = NcclElement::Uint8;
      if (op == ReduceOp::Sum) args.op = ReduceOp::Max;  // a sum of bools is their logical or
      break;
    case torch::kInt8: args.element = NcclElement::Int8; break;
    case torch::kUInt8: args.element = NcclElement::Uint8; break;
    case torch::kInt32: args.element = NcclElement::Int32; break;
    case torch::kInt64: args.element = NcclElement::Int64; break;
    case torch::kFloat16: args.element = NcclElement::Float16; break;
    case torch::kBFloat16: args.element = NcclElement::Bfloat16; break;
    case torch::kFloat32: args.element = NcclElement::Float32; break;
    case torch::kFloat64: args.element = NcclElement::Float64; break;
    default:
      throw CommError(concat(what, ": unsupported tensor dtype ", dtype));
  }
  SPROUT_CHECK(op != ReduceOp::Avg || torch::isFloatingType(dtype), CommError, what,
               " avg needs a floating tensor, got ", dtype);
  return args;
}

NcclGuard::NcclGuard(std::unique_ptr<NcclHandle> handle) : handle_(std::move(handle)) {}

NcclGuard::~NcclGuard() {
  if (aborted()) return;
  // Every collective was waited for (GuardedWork waits or aborts in its destructor), so a
  // destroy does not block on peers. While unwinding a peer may be gone: abort instead.
  if (std::uncaught_exceptions() > 0) {
    abort();
    return;
  }
  std::lock_guard<std::mutex> lock(handle_mutex_);
  try {
    handle_->destroy();
  } catch (...) {
  }
}

void NcclGuard::require_alive(const char* op) const {
  SPROUT_CHECK(!aborted(), CommError, "nccl ", op, ": the communicator was aborted after an earlier error");
}

void NcclGuard::abort() {
  std::lock_guard<std::mutex> lock(handle_mutex_);
  bool expected = false;
  if (!aborted_.compare_exchange_strong(expected, true)) return;
  try {
    handle_->abort();
  } catch (...) {
  }
}

bool NcclGuard::query(const Completion& done, const char* op, const std::string& phase) {
  require_alive(op);
  bool completed = false;
  try {
    completed = done.done();
  } catch (...) {
    abort();
    throw;
  }
  if (completed) return true;
  std::string error;
  {
    std::lock_guard<std::mutex> lock(handle_mutex_);
    if (aborted()) {
      // Aborted by another thread since require_alive: the handle is gone.
      throw CommError(concat("nccl ", op, " (", phase, "): the communicator was aborted"));
    }
    error = handle_->async_error();
  }
  if (!error.empty()) {
    abort();
    throw CommError(concat("nccl ", op, " (", phase, "): asynchronous NCCL error: ", error));
  }
  return false;
}

void NcclGuard::wait(const Completion& done, const char* op, const std::string& phase, double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (int polls = 0; !query(done, op, phase); ++polls) {
    if (timeout_s > 0 && std::chrono::duration<double>(clock::now() - start).count() > timeout_s) {
      abort();  // stops the kernels still spinning on the GPU
      throw CommError(concat("nccl ", op, ": timed out after ", timeout_s, " s (", phase,
                             "); a peer rank is gone or stuck"));
    }
    // Spin briefly (small collectives finish in microseconds), then back off.
    if (polls < 2000) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

GuardedWork::GuardedWork(std::shared_ptr<NcclGuard> guard, std::unique_ptr<Completion> done,
                         std::function<void()> on_complete, std::string op, std::string phase, double timeout_s)
    : guard_(std::move(guard)), done_(std::move(done)), on_complete_(std::move(on_complete)), op_(std::move(op)),
      phase_(std::move(phase)), timeout_s_(timeout_s) {}

GuardedWork::~GuardedWork() {
  if (finished_ || guard_->aborted()) return;
  if (std::uncaught_exceptions() > 0) {
    guard_->abort();
    return;
  }
  try {
    wait();
  } catch (...) {
  }
}

void GuardedWork::wait() {
  if (finished_) return;
  guard_->wait(*done_, op_.c_str(), phase_, timeout_s_);
  finish();
}

bool GuardedWork::test() {
  if (finished_) return true;
  if (!guard_->query(*done_, op_.c_str(), phase_)) return false;
  finish();
  return true;
}

void GuardedWork::cancel() {
  if (!finished_) guard_->abort();
}

void GuardedWork::finish() {
  finished_ = true;
  if (!on_complete_) return;
  auto complete = std::move(on_complete_);
  try {
    complete();
  } catch (...) {
    guard_->abort();
    throw;
  }
}

}  // namespace sprout::runtime
