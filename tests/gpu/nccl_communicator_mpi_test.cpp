// NCCL collectives against closed-form results (GPU only; run under mpiexec -n 1 and -n 2:
// one rank per GPU). Skipped with the reason on machines without a GPU or NCCL.
// With one rank NCCL's in-place reductions copy nothing, so the out-of-place allgather and
// the bucket reducer (which DataParallel skips on one rank) are run here on their own.
#include <gtest/gtest.h>

#include <memory>

#include "gpu_test_util.h"
#include "runtime/comm/backend.h"
#include "runtime/device/transfer.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/engine/bucket_layout.h"
#include "runtime/engine/bucket_reducer.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

class Nccl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reason_ = sprout::testing::nccl_skip_reason();
    if (!reason_.empty()) return;
    device_ = sprout::testing::this_rank_gpu();
    set_current_device(device_);
    NcclOptions options;
    options.device = device_.index();
    if (auto* mpi = dynamic_cast<MpiCommunicator*>(&world())) options.watchdog = mpi->watchdog();
    comm_ = make_nccl_communicator(world(), options);
  }
  static void TearDownTestSuite() { comm_.reset(); }
  void SetUp() override { SPROUT_SKIP_IF(reason_); }

  torch::TensorOptions on_gpu(torch::ScalarType dtype = torch::kFloat32) const {
    return torch::TensorOptions().dtype(dtype).device(device_);
  }
  Communicator& comm() { return *comm_; }

  static std::string reason_;
  static torch::Device device_;
  static std::unique_ptr<Communicator> comm_;
};
std::string Nccl::reason_;
torch::Device Nccl::device_ = torch::kCPU;
std::unique_ptr<Communicator> Nccl::comm_;

TEST_F(Nccl, AllreduceClosedForms) {
  auto& c = comm();
  EXPECT_EQ(c.backend(), "nccl");
  const int n = c.size(), r = c.rank();
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt32, torch::kInt64}) {
    auto t = torch::full({1000}, r + 1, on_gpu(dtype));
    c.allreduce(t, ReduceOp::Sum);
    EXPECT_TRUE(t.eq(n * (n + 1) / 2).all().item<bool>()) << dtype;  // Σ (rank + 1)
    t.fill_(r);
    c.allreduce(t, ReduceOp::Max);
    EXPECT_TRUE(t.eq(n - 1).all().item<bool>()) << dtype;
    t.fill_(r + 10);
    c.allreduce(t, ReduceOp::Min);
    EXPECT_TRUE(t.eq(10).all().item<bool>()) << dtype;
    if (torch::isFloatingType(dtype)) {
      t.fill_(r + 1);
      c.allreduce(t, ReduceOp::Avg);
      EXPECT_TRUE(t.eq((n + 1) / 2.0).all().item<bool>()) << dtype;
    }
  }
  // 32 MiB of float64 (several NCCL chunks): arange · Σ(rank + 1), exact in float64.
  auto big = torch::arange(1 << 22, on_gpu(torch::kFloat64)).mul_(r + 1);
  c.allreduce(big, ReduceOp::Sum);
  EXPECT_TRUE(big.equal(torch::arange(1 << 22, on_gpu(torch::kFloat64)).mul_(n * (n + 1) / 2)));
}

TEST_F(Nccl, AsyncAllreducesInFlightTogether) {
  auto& c = comm();
  const int n = c.size(), r = c.rank();
  std::vector<torch::Tensor> ts;
  std::vector<std::shared_ptr<Work>> works;
  for (int i = 0; i < 4; ++i) {
    ts.push_back(torch::full({(1 << 16) + i}, static_cast<float>(r + i), on_gpu()));
    works.push_back(c.allreduce_async(ts.back(), ReduceOp::Sum));
  }
  for (int i = 3; i >= 0; --i) works[i]->wait();  // any order
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(ts[i].eq(n * (n - 1) / 2.0 + n * i).all().item<bool>()) << i;
    EXPECT_TRUE(works[i]->test());
  }
}

TEST_F(Nccl, CollectivesAreOrderedAfterTheComputeStream) {
  auto& c = comm();
  const int n = c.size(), r = c.rank();
  // Produce the tensor with enough queued kernels that an unordered NCCL read would see
  // stale values, then reduce it and read it back on the compute stream at once.
  auto x = torch::ones({2048, 2048}, on_gpu());
  for (int i = 0; i < 20; ++i) x = at::matmul(x, torch::eye(2048, on_gpu()));
  x.mul_(r + 1);
  c.allreduce(x, ReduceOp::Sum);
  auto y = x.mul(2);
  EXPECT_TRUE(y.eq(n * (n + 1.0)).all().item<bool>());
}

TEST_F(Nccl, OutOfPlaceAllgatherIsOrderedBothWays) {
  auto& c = comm();
  const int n = c.size(), r = c.rank();
  // The input is produced by queued kernels (an unordered NCCL read sees stale values), the
  // output is read at once on the compute stream (an unordered read sees empty memory), and
  // the input is overwritten right after (must not reach the output).
  auto x = torch::ones({1024, 1024}, on_gpu());
  for (int i = 0; i < 20; ++i) x = at::matmul(x, torch::eye(1024, on_gpu()));
  x.mul_(r + 1);
  auto g = c.allgather(x);
  x.fill_(-1);
  auto sums = g.sum({1, 2}).cpu();  // (n): rank k contributed (k + 1) per element
  ASSERT_EQ(sums.size(0), n);
  for (int k = 0; k < n; ++k) EXPECT_EQ(sums[k].item<double>(), (k + 1.0) * 1024 * 1024) << k;
  // Several in a row, each from a fresh tensor: no result may come from another call.
  for (int i = 0; i < 8; ++i) {
    auto row = c.allgather(torch::full({4096}, static_cast<float>(i * 10 + r), on_gpu()));
    for (int k = 0; k < n; ++k) EXPECT_TRUE(row[k].eq(i * 10 + k).all().item<bool>()) << i << " " << k;
  }
}

TEST_F(Nccl, BucketReducerOverNccl) {
  // DataParallel skips the reducer on one rank; here it runs over NCCL at any size: scaled
  // copies into the buckets, async allreduces started in bucket order, a missing gradient
  // zero-filled, waits on CUDA events.
  auto& c = comm();
  const int n = c.size(), r = c.rank();
  std::vector<torch::Tensor> params;
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < 6; ++i) {
    params.push_back(torch::zeros({1000 + 100 * i}, on_gpu()));
    shapes.push_back({1000 + 100 * i});
  }
  auto layout = BucketLayout::build(params, 8192, 4096);  // several buckets
  ASSERT_GT(layout.buckets().size(), 2u);
  BucketReducer reducer(c, layout, shapes, 1.0 / n, device_);
  for (int step = 0; step < 3; ++step) {
    reducer.begin();
    // Parameter 4 gets no gradient on rank 0; the others get (rank + 1)·(param + 1 + step).
    for (int i = 5; i >= 0; --i) {
      if (i == 4 && r == 0) continue;
      reducer.add(static_cast<size_t>(i), torch::full(shapes[i], static_cast<float>((r + 1) * (i + 1 + step)), on_gpu()));
    }
    reducer.finish();
    EXPECT_EQ(reducer.started(), layout.buckets().size());
    for (int i = 0; i < 6; ++i) {
      const auto& grad = reducer.grads()[i];
      EXPECT_TRUE(grad.is_cuda());
      // mean over ranks of (k + 1)(i + 1 + step), rank 0 missing for parameter 4
      double sum = 0;
      for (int k = 0; k < n; ++k) sum += (i == 4 && k == 0) ? 0.0 : (k + 1.0) * (i + 1 + step);
      EXPECT_TRUE(grad.eq(static_cast<float>(sum / n)).all().item<bool>()) << "step " << step << " param " << i;
    }
  }
}

TEST_F(Nccl, BroadcastFromEveryRootAndAllgather) {
  auto& c = comm();
  const int n = c.size(), r = c.rank();
  for (int root = 0; root < n; ++root) {
    auto t = torch::full({3, 5}, static_cast<double>(r * 100 + 7), on_gpu(torch::kFloat64));
    c.broadcast(t, root);
    EXPECT_TRUE(t.eq(root * 100 + 7).all().item<bool>()) << "root " << root;
  }
  auto u = torch::full({6}, r, on_gpu(torch::kUInt8));
  c.broadcast(u, n - 1);
  EXPECT_TRUE(u.eq(n - 1).all().item<bool>());

  auto g = c.allgather(torch::full({2, 3}, static_cast<int64_t>(r), on_gpu(torch::kInt64)));
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{n, 2, 3}));
  EXPECT_TRUE(g.is_cuda());
  for (int k = 0; k < n; ++k) EXPECT_TRUE(g[k].eq(k).all().item<bool>()) << k;
  c.barrier();
  c.barrier();
}

TEST_F(Nccl, CpuTensorsGoThroughMpi) {
  auto& c = comm();
  const int n = c.size(), r = c.rank();
  EXPECT_EQ(allreduce_int(c, r, ReduceOp::Sum), n * (n - 1) / 2);
  EXPECT_EQ(broadcast_string(c, r == 0 ? "grown" : "", 0), "grown");
  auto gathered = allgather_strings(c, std::string(static_cast<size_t>(r + 1), 'x'));
  ASSERT_EQ(static_cast<int>(gathered.size()), n);
  for (int k = 0; k < n; ++k) EXPECT_EQ(gathered[k].size(), static_cast<size_t>(k + 1));
}

TEST_F(Nccl, SplitByParity) {
  auto& c = comm();
  const int n = c.size(), r = c.rank();
  auto sub = c.split(r % 2, -r);  // reversed order inside each half
  EXPECT_EQ(sub->backend(), "nccl");
  int expected_size = 0, expected_rank = 0, sum = 0;
  for (int k = 0; k < n; ++k) {
    if (k % 2 != r % 2) continue;
    ++expected_size;
    sum += k;
    if (k > r) ++expected_rank;
  }
  EXPECT_EQ(sub->size(), expected_size);
  EXPECT_EQ(sub->rank(), expected_rank);
  auto t = torch::full({17}, static_cast<float>(r), on_gpu());
  sub->allreduce(t, ReduceOp::Sum);
  EXPECT_TRUE(t.eq(sum).all().item<bool>());
  EXPECT_EQ(allreduce_int(*sub, 1, ReduceOp::Sum), expected_size);  // its MPI half too
}

TEST_F(Nccl, BadArgumentsThrowAndLeaveTheCommunicatorUsable) {
  auto& c = comm();
  auto ints = torch::ones({4}, on_gpu(torch::kInt64));
  EXPECT_THROW(c.allreduce(ints, ReduceOp::Avg), CommError);
  auto strided = torch::ones({4, 4}, on_gpu()).t();
  EXPECT_THROW(c.allreduce(strided, ReduceOp::Sum), CommError);
  auto complex = torch::ones({4}, on_gpu(torch::kComplexFloat));
  EXPECT_THROW(c.allreduce(complex, ReduceOp::Sum), CommError);
  EXPECT_THROW(c.broadcast(complex, 0), CommError);
  auto t = torch::ones({4}, on_gpu());
  c.allreduce(t, ReduceOp::Sum);
  EXPECT_TRUE(t.eq(c.size()).all().item<bool>());
  // bool (a sum is a logical or) and int8 travel as ProcessGroupNCCL sends them.
  auto flags = torch::full({8}, c.rank() == 0, on_gpu(torch::kBool));
  c.allreduce(flags, ReduceOp::Sum);
  EXPECT_TRUE(flags.all().item<bool>());
  auto small = torch::full({8}, c.rank() + 1, on_gpu(torch::kInt8));
  c.allreduce(small, ReduceOp::Sum);
  EXPECT_TRUE(small.eq(c.size() * (c.size() + 1) / 2).all().item<bool>());
}

TEST_F(Nccl, AMissingPeerTimesOutInsteadOfHanging) {
  auto& c = comm();
  if (c.size() < 2) GTEST_SKIP() << "needs two ranks (two GPUs) to lose one";
  auto child = c.split(0, c.rank());
  child->set_timeout(3);
  auto t = torch::ones({256}, on_gpu());
  child->allreduce(t, ReduceOp::Sum);  // every rank: connections are up
  if (c.rank() == 0) {
    // The others never join: rank 0 must get a CommError within the timeout.
    try {
      child->allreduce(t, ReduceOp::Sum);
      ADD_FAILURE() << "allreduce without peers returned";
    } catch (const CommError& e) {
      EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    }
    EXPECT_THROW(child->allreduce(t, ReduceOp::Sum), CommError);  // aborted for good
  }
  world().barrier();
}

}  // namespace
}  // namespace sprout::runtime
