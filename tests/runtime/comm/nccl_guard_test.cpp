// The NCCL backend's error handling (runtime/comm/nccl_guard.h) driven by a fake handle and
// fake completions, so the timeout, abort and use-after-abort paths run on any machine. The
// same code guards the real NCCL communicator (runtime/comm/nccl_communicator.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>

#include "runtime/comm/nccl_guard.h"
#include "runtime/engine/bucket_layout.h"
#include "runtime/engine/bucket_reducer.h"
#include "runtime/error.h"

namespace sprout::runtime {
namespace {

// What the fake handle saw. A call after the abort is a use after free in the real backend.
struct HandleLog {
  int async_errors = 0, aborts = 0, destroys = 0, calls_after_abort = 0;
  bool freed = false;
  std::string pending_error;  // returned by the next async_error()
};

class FakeHandle final : public NcclHandle {
 public:
  explicit FakeHandle(std::shared_ptr<HandleLog> log) : log_(std::move(log)) {}
  std::string async_error() override {
    touch();
    ++log_->async_errors;
    return log_->pending_error;
  }
  void abort() override {
    touch();
    ++log_->aborts;
    log_->freed = true;
  }
  void destroy() override {
    touch();
    ++log_->destroys;
    log_->freed = true;
  }

 private:
  void touch() {
    if (log_->freed) ++log_->calls_after_abort;
  }
  std::shared_ptr<HandleLog> log_;
};

class FakeCompletion final : public Completion {
 public:
  explicit FakeCompletion(std::shared_ptr<bool> flag) : flag_(std::move(flag)) {}
  bool done() const override { return *flag_; }

 private:
  std::shared_ptr<bool> flag_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Fixture {
  std::shared_ptr<HandleLog> log = std::make_shared<HandleLog>();
  std::shared_ptr<NcclGuard> guard = std::make_shared<NcclGuard>(std::make_unique<FakeHandle>(log));
  std::shared_ptr<bool> completed = std::make_shared<bool>(false);
  int completions = 0;

  std::shared_ptr<GuardedWork> work(double timeout_s) {
    return std::make_shared<GuardedWork>(guard, std::make_unique<FakeCompletion>(completed), [this] { ++completions; },
                                         "allreduce (async)", "step 7", timeout_s);
  }
};

constexpr double kTimeout = 0.5;
constexpr double kBound = 0.3;  // polling and scheduling on a busy machine; less than one timeout

TEST(NcclGuard, ATimedOutWaitAbortsAndEndsWithinOneTimeout) {
  Fixture f;
  auto w = f.work(kTimeout);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    w->wait();
    FAIL() << "a collective that never completes returned";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("timed out after 0.5 s (step 7)"), std::string::npos) << e.what();
  }
  EXPECT_LT(seconds_since(t0), kTimeout + kBound);
  EXPECT_GE(seconds_since(t0), kTimeout);
  EXPECT_EQ(f.log->aborts, 1);
  EXPECT_TRUE(f.guard->aborted());

  // Nothing reaches the freed handle afterwards: test, wait, destructor, guard teardown.
  EXPECT_THROW(w->test(), CommError);
  EXPECT_THROW(w->wait(), CommError);
  const auto t1 = std::chrono::steady_clock::now();
  w.reset();
  EXPECT_LT(seconds_since(t1), 0.05) << "the destructor of an aborted work must not wait";
  f.guard.reset();
  EXPECT_EQ(f.log->calls_after_abort, 0);
  EXPECT_EQ(f.log->destroys, 0);
  EXPECT_EQ(f.completions, 0);
}

TEST(NcclGuard, AnAsynchronousErrorAbortsOnceAndNothingTouchesTheHandleAgain) {
  Fixture f;
  auto a = f.work(10);
  auto b = f.work(10);
  EXPECT_FALSE(a->test());  // pending, healthy
  EXPECT_EQ(f.log->async_errors, 1);
  f.log->pending_error = "unhandled system error (remote process exited)";
  try {
    a->test();
    FAIL() << "an asynchronous NCCL error was not reported";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("asynchronous NCCL error: unhandled system error"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(f.log->aborts, 1);
  EXPECT_THROW(b->test(), CommError);  // the other in-flight work sees the abort
  EXPECT_THROW(b->wait(), CommError);
  EXPECT_THROW(f.guard->require_alive("broadcast"), CommError);
  a.reset();
  b.reset();
  f.guard->abort();  // a second abort is a no-op
  f.guard.reset();
  EXPECT_EQ(f.log->aborts, 1);
  EXPECT_EQ(f.log->async_errors, 2);
  EXPECT_EQ(f.log->calls_after_abort, 0);
}

TEST(NcclGuard, AHealthyWorkCompletesOnceAndTheHandleIsDestroyed) {
  Fixture f;
  auto w = f.work(10);
  EXPECT_FALSE(w->test());
  *f.completed = true;
  EXPECT_TRUE(w->test());
  EXPECT_TRUE(w->test());
  w->wait();
  EXPECT_EQ(f.completions, 1);
  w.reset();
  f.guard.reset();
  EXPECT_EQ(f.log->aborts, 0);
  EXPECT_EQ(f.log->destroys, 1);
}

TEST(NcclGuard, AnUnfinishedWorkDestroyedWhileUnwindingAbortsInsteadOfWaiting) {
  Fixture f;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto w = f.work(30);  // a wait would take 30 s
    throw std::runtime_error("a peer is gone");
  } catch (const std::runtime_error&) {
  }
  EXPECT_LT(seconds_since(t0), kBound);
  EXPECT_EQ(f.log->aborts, 1);
  f.guard.reset();
  EXPECT_EQ(f.log->calls_after_abort, 0);
}

TEST(NcclGuard, CancelAbortsAnUnfinishedWorkAndNotAFinishedOne) {
  Fixture f;
  *f.completed = true;
  auto done = f.work(10);
  done->wait();
  done->cancel();
  EXPECT_FALSE(f.guard->aborted());
  *f.completed = false;
  auto pending = f.work(10);
  pending->cancel();
  EXPECT_TRUE(f.guard->aborted());
  EXPECT_EQ(f.log->aborts, 1);
}

TEST(NcclGuard, BadArgumentsAreRefusedBeforeEnqueueAndLeaveTheCommunicatorUsable) {
  Fixture f;
  // The communicator checks its arguments first (nccl_args), then enqueues.
  EXPECT_THROW(nccl_args(torch::kComplexFloat, ReduceOp::Sum, "nccl allreduce"), CommError);
  EXPECT_THROW(nccl_args(torch::kInt16, ReduceOp::Sum, "nccl allreduce"), CommError);
  EXPECT_THROW(nccl_args(torch::kInt64, ReduceOp::Avg, "nccl allreduce"), CommError);
  EXPECT_THROW(nccl_args(torch::kBool, ReduceOp::Avg, "nccl allreduce"), CommError);
  try {
    nccl_args(torch::kComplexDouble, ReduceOp::Sum, "nccl broadcast");
  } catch (const CommError& e) {
    EXPECT_EQ(std::string(e.what()), "nccl broadcast: unsupported tensor dtype ComplexDouble");
  }
  EXPECT_FALSE(f.guard->aborted());
  int enqueued = 0;
  f.guard->enqueue("allreduce", [&] { ++enqueued; });
  EXPECT_EQ(enqueued, 1);

  // Dtypes as ProcessGroupNCCL maps them; a sum of bools is their logical or.
  EXPECT_EQ(nccl_args(torch::kBool, ReduceOp::Sum, "x").element, NcclElement::Uint8);
  EXPECT_EQ(nccl_args(torch::kBool, ReduceOp::Sum, "x").op, ReduceOp::Max);
  EXPECT_EQ(nccl_args(torch::kBool, ReduceOp::Min, "x").op, ReduceOp::Min);
  EXPECT_EQ(nccl_args(torch::kInt8, ReduceOp::Sum, "x").element, NcclElement::Int8);
  EXPECT_EQ(nccl_args(torch::kInt8, ReduceOp::Sum, "x").op, ReduceOp::Sum);
  EXPECT_EQ(nccl_args(torch::kBFloat16, ReduceOp::Avg, "x").element, NcclElement::Bfloat16);
  EXPECT_EQ(nccl_args(torch::kFloat64, ReduceOp::Avg, "x").op, ReduceOp::Avg);

  // A failure inside the enqueue (an NCCL or CUDA call) aborts; later enqueues throw
  // without running.
  EXPECT_THROW(f.guard->enqueue("allreduce", [] { throw CommError("ncclAllReduce failed"); }), CommError);
  EXPECT_TRUE(f.guard->aborted());
  EXPECT_THROW(f.guard->enqueue("allreduce", [&] { ++enqueued; }), CommError);
  EXPECT_EQ(enqueued, 1);
  f.guard.reset();
  EXPECT_EQ(f.log->calls_after_abort, 0);
}

// A communicator whose collectives never complete: every allreduce_async is a GuardedWork on
// one shared guard, as on the NCCL backend when a peer is gone.
class StuckCommunicator final : public Communicator {
 public:
  explicit StuckCommunicator(Fixture& f) : f_(f) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string backend() const override { return "stuck"; }
  void allreduce(torch::Tensor& t, ReduceOp op) override { allreduce_async(t, op)->wait(); }
  std::shared_ptr<Work> allreduce_async(torch::Tensor, ReduceOp) override {
    ++started;
    return f_.work(timeout());
  }
  void broadcast(torch::Tensor&, int) override {}
  torch::Tensor allgather(const torch::Tensor& t) override { return t; }
  void barrier() override {}
  std::unique_ptr<Communicator> split(int, int) override { return nullptr; }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
  int started = 0;

 private:
  Fixture& f_;
};

TEST(NcclGuard, ABucketReducerThatTimesOutAbortsAndEndsAfterOneTimeout) {
  Fixture f;
  StuckCommunicator comm(f);
  comm.set_timeout(kTimeout);
  comm.set_phase("step 3");
  std::vector<torch::Tensor> params;
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < 4; ++i) {
    params.push_back(torch::zeros({256}));
    shapes.push_back({256});
  }
  auto layout = BucketLayout::build(params, 1024, 1024);  // one bucket per parameter
  ASSERT_EQ(layout.buckets().size(), 4u);
  const auto t0 = std::chrono::steady_clock::now();
  {
    BucketReducer reducer(comm, layout, shapes, 0.5);
    reducer.begin();
    for (size_t i = 0; i < params.size(); ++i) reducer.add(i, torch::ones({256}));
    EXPECT_EQ(comm.started, 4);
    try {
      reducer.finish();
      FAIL() << "buckets that never complete were reported done";
    } catch (const CommError& e) {
      EXPECT_NE(std::string(e.what()).find("step 3"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(f.guard->aborted()) << "the reducer must abort when its wait times out";
    reducer.begin();  // drops the four unfinished works: no second wait
  }
  EXPECT_LT(seconds_since(t0), kTimeout + kBound) << "one timeout, not one per bucket";
  EXPECT_EQ(f.log->aborts, 1);
  f.guard.reset();
  EXPECT_EQ(f.log->calls_after_abort, 0);
}

}  // namespace
}  // namespace sprout::runtime
