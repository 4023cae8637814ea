// The engine's ring allreduce against closed forms, bitwise agreement across ranks, and
// progress by test() alone (run under mpiexec -n 2 and -n 3).
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/torch_compat.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

MPI_Comm handle() { return dynamic_cast<MpiCommunicator&>(world()).handle(); }

TEST(RingAllreduce, SumsEveryChunkSizeExactly) {
  auto& c = world();
  const int n = c.size(), r = c.rank();
  // Sizes below, at and above the number of ranks (empty chunks), and uneven splits.
  for (int64_t numel : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{7}, int64_t{1000}, int64_t{100003}}) {
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
      // element i of rank r: (r+1)·(i mod 7 + 1)  ->  sum: n(n+1)/2·(i mod 7 + 1), exact.
      auto pattern = torch::arange(numel, torch::kInt64).remainder(7).add_(1).to(dtype);
      auto t = pattern * (r + 1);
      RingAllreduce ring(handle(), t, torch::Tensor(), 3, nullptr, "test", 60);
      ring.wait();
      EXPECT_TRUE(t.equal(pattern * (n * (n + 1) / 2.0))) << "numel " << numel << " " << dtype;
    }
  }
}

TEST(RingAllreduce, EveryRankGetsTheSameBits) {
  auto& c = world();
  auto gen = compat::make_generator(100 + c.rank());
  auto t = at::randn({50001}, gen);  // different per rank; sums round
  auto scratch = torch::empty({50001 / c.size() + 1});
  RingAllreduce ring(handle(), t, scratch, 4, nullptr, "test", 60);
  ring.wait();
  auto hash = torch::tensor({static_cast<int64_t>(tensor_hash(t))}, torch::kInt64);
  auto all = c.allgather(hash);
  for (int k = 0; k < c.size(); ++k) EXPECT_EQ(all[k].item<int64_t>(), hash.item<int64_t>()) << "rank " << k;
  // Close to the plain collective's result.
  auto mine = at::randn({50001}, compat::make_generator(100 + c.rank()));
  c.allreduce(mine, ReduceOp::Sum);
  EXPECT_TRUE(t.allclose(mine, 1e-5, 1e-5));
}

TEST(RingAllreduce, ReduceScatterLeavesItsChunkWithTheAllreduceBits) {
  auto& c = world();
  const int n = c.size(), r = c.rank();
  for (int64_t numel : {int64_t{2}, int64_t{50001}}) {
    auto full = at::randn({numel}, compat::make_generator(200 + r));
    auto half = full.clone();
    RingAllreduce all(handle(), full, torch::Tensor(), 5, nullptr, "test", 60);
    all.wait();
    RingAllreduce scatter(handle(), half, torch::Tensor(), 6, nullptr, "test", 60, /*reduce_scatter_only=*/true);
    scatter.wait();
    EXPECT_EQ(scatter.rounds_done(), n - 1);
    const int k = ring_owned_chunk(r, n);
    const int64_t lo = ring_chunk_begin(numel, n, k), hi = ring_chunk_begin(numel, n, k + 1);
    EXPECT_TRUE(torch::equal(half.narrow(0, lo, hi - lo), full.narrow(0, lo, hi - lo))) << "numel " << numel;
    if (n > 1 && numel > n) EXPECT_FALSE(torch::equal(half, full)) << "the other chunks are not summed";
  }
}

TEST(RingAllreduce, CompletesByTestAloneAndSeveralInFlight) {
  auto& c = world();
  const int n = c.size();
  auto a = torch::full({300000}, static_cast<float>(c.rank() + 1));
  auto b = torch::full({70000}, static_cast<double>(2 * c.rank()), torch::kFloat64);
  RingAllreduce ra(handle(), a, torch::Tensor(), 10, nullptr, "test", 60);
  RingAllreduce rb(handle(), b, torch::Tensor(), 11, nullptr, "test", 60);
  // Finish b first: distinct tags keep the two rings' messages apart.
  int64_t spins = 0;
  while (!rb.test()) ++spins;
  while (!ra.test()) ++spins;
  EXPECT_TRUE(ra.test());
  EXPECT_TRUE(a.eq(n * (n + 1) / 2.0).all().item<bool>());
  EXPECT_TRUE(b.eq(n * (n - 1)).all().item<bool>());
}

TEST(RingAllreduce, StartPicksTheRingForLargeMpiBuckets) {
  auto& c = world();
  EXPECT_EQ(ring_scratch_numel(c, 4, 4), 0);  // 16 B: the communicator's own collective
  EXPECT_EQ(ring_scratch_numel(c, 1 << 20, 4), ((1 << 20) + c.size() - 1) / c.size());
  for (int64_t numel : {int64_t{5}, int64_t{1} << 18}) {
    auto t = torch::full({numel}, 1.0f);
    auto w = start_sum_allreduce(c, t, torch::Tensor(), 0);
    w->wait();
    EXPECT_TRUE(t.eq(static_cast<float>(c.size())).all().item<bool>()) << numel;
  }
}

}  // namespace
}  // namespace sprout::runtime
