// Collectives against closed-form results (run under mpiexec -n 2 and -n 3).
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "runtime/comm/communicator.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

TEST(Communicator, AllreduceClosedForms) {
  auto& c = world();
  const int n = c.size(), r = c.rank();
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    auto t = torch::full({5}, static_cast<double>(r), torch::dtype(dtype));
    c.allreduce(t, ReduceOp::Sum);
    EXPECT_TRUE(t.eq(n * (n - 1) / 2.0).all().item<bool>()) << dtype;  // Σ ranks
    t.fill_(r + 1);
    c.allreduce(t, ReduceOp::Avg);
    EXPECT_TRUE(t.eq((n + 1) / 2.0).all().item<bool>()) << dtype;
    t.fill_(r);
    c.allreduce(t, ReduceOp::Max);
    EXPECT_TRUE(t.eq(n - 1).all().item<bool>());
    t.fill_(r + 10);
    c.allreduce(t, ReduceOp::Min);
    EXPECT_TRUE(t.eq(10).all().item<bool>());
  }
  auto i = torch::tensor({static_cast<int64_t>(r) * 3}, torch::kInt64);
  c.allreduce(i, ReduceOp::Sum);
  EXPECT_EQ(i.item<int64_t>(), 3 * n * (n - 1) / 2);
}

TEST(Communicator, AsyncAllreduceAndLargeMessages) {
  auto& c = world();
  auto t = torch::arange(1 << 20, torch::kFloat32).mul_(c.rank() + 1);
  auto work = c.allreduce_async(t, ReduceOp::Sum);
  work->wait();
  const double factor = c.size() * (c.size() + 1) / 2.0;
  EXPECT_TRUE(t.equal(torch::arange(1 << 20, torch::kFloat32).mul_(factor)));
  EXPECT_TRUE(work->test());
}

TEST(Communicator, AllreduceIsBitwiseIdenticalOnEveryRank) {
  auto& c = world();
  auto gen = torch::randn({100000}, torch::kFloat32).mul_(1000 + c.rank());
  c.allreduce(gen, ReduceOp::Avg);
  auto all = c.allgather(gen);
  for (int r = 1; r < c.size(); ++r) EXPECT_TRUE(all[r].equal(all[0])) << "rank " << r;
}

TEST(Communicator, BroadcastAllgatherBarrier) {
  auto& c = world();
  auto t = torch::full({3, 2}, static_cast<float>(c.rank() + 7));
  c.broadcast(t, c.size() - 1);
  EXPECT_TRUE(t.eq(static_cast<float>(c.size() + 6)).all().item<bool>());
  auto g = c.allgather(torch::tensor({c.rank(), 2 * c.rank()}, torch::kInt64));
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{c.size(), 2}));
  for (int r = 0; r < c.size(); ++r) {
    EXPECT_EQ(g[r][0].item<int64_t>(), r);
    EXPECT_EQ(g[r][1].item<int64_t>(), 2 * r);
  }
  c.barrier();
  EXPECT_EQ(broadcast_string(c, c.rank() == 0 ? "hello sprout" : "", 0), "hello sprout");
  const auto strings = allgather_strings(c, std::string(c.rank() + 1, 'a' + c.rank()));
  ASSERT_EQ(static_cast<int>(strings.size()), c.size());
  for (int r = 0; r < c.size(); ++r) EXPECT_EQ(strings[r], std::string(r + 1, 'a' + r));
  EXPECT_DOUBLE_EQ(allreduce_scalar(c, 1.5, ReduceOp::Sum), 1.5 * c.size());
  EXPECT_EQ(allreduce_int(c, c.rank(), ReduceOp::Max), c.size() - 1);
}

TEST(Communicator, SplitFormsDisjointGroups) {
  auto& c = world();
  auto sub = c.split(c.rank() % 2, c.rank());
  const int expected = (c.size() + 1 - c.rank() % 2) / 2;
  EXPECT_EQ(sub->size(), expected);
  EXPECT_EQ(sub->rank(), c.rank() / 2);
  auto t = torch::tensor({static_cast<double>(c.rank())}, torch::kFloat64);
  sub->allreduce(t, ReduceOp::Sum);
  double want = 0;
  for (int r = c.rank() % 2; r < c.size(); r += 2) want += r;
  EXPECT_DOUBLE_EQ(t.item<double>(), want);
}

TEST(Communicator, RejectsNonContiguousTensors) {
  auto& c = world();
  auto t = torch::zeros({4, 4}).t();
  EXPECT_THROW(c.allreduce(t, ReduceOp::Sum), std::exception);
}

}  // namespace
}  // namespace sprout::runtime
