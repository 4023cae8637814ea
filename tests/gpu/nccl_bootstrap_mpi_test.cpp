// The MPI half of the NCCL bring-up, with a fake 128-byte id, and the other collective
// pieces of device set-up that need no GPU (run under mpiexec -n 2 and -n 3).
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "runtime/comm/host_staging_communicator.h"
#include "runtime/device/device.h"
#include "runtime/error.h"
#include "runtime/comm/nccl_bootstrap.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

// Every byte value 0..255 appears, zeros included (a C-string copy would truncate), and
// the pattern depends on `seed` so ids made by different roots differ.
NcclIdBytes fake_id(int seed) {
  NcclIdBytes id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>((i * 2 + seed * 37) % 256);
  id[5] = 0;
  id[6] = 255;
  return id;
}

TEST(NcclBootstrap, FakeIdReachesEveryRankIntact) {
  auto& c = world();
  for (int root = 0; root < c.size(); ++root) {
    // Non-root ranks pass garbage: only root's bytes may come back.
    NcclIdBytes mine = c.rank() == root ? fake_id(root) : fake_id(100 + c.rank());
    const NcclIdBytes got = broadcast_nccl_id(c, mine, root);
    EXPECT_EQ(got, fake_id(root)) << "root " << root << " on rank " << c.rank();
  }
  // Two bootstraps in a row (world, then a split) stay matched.
  const auto a = broadcast_nccl_id(c, fake_id(1), 0);
  const auto b = broadcast_nccl_id(c, fake_id(2), 0);
  EXPECT_EQ(a, fake_id(1));
  EXPECT_EQ(b, fake_id(2));
}

TEST(NcclBootstrap, RejectsARootOutsideTheCommunicator) {
  auto& c = world();
  EXPECT_THROW(broadcast_nccl_id(c, fake_id(0), c.size()), CommError);
}

TEST(NcclBootstrap, OverASubCommunicator) {
  auto& c = world();
  auto sub = c.split(c.rank() % 2, c.rank());
  const int color = c.rank() % 2;
  const auto got = broadcast_nccl_id(*sub, sub->rank() == 0 ? fake_id(40 + color) : fake_id(99), 0);
  EXPECT_EQ(got, fake_id(40 + color));  // each half got its own root's id
}

TEST(DeviceProbe, AgreementTakesTheWeakestRankAndTheLargestNode) {
  auto& c = world();
  const int n = c.size(), r = c.rank();
  DeviceProbe mine;
  mine.torch_cuda = r != 1;  // rank 1 has no CUDA
  mine.gpus = 8 - r;
  mine.nccl = true;
  mine.local_size = r + 1;
  const auto p = agree_probe(c, mine);
  EXPECT_FALSE(p.torch_cuda);
  EXPECT_EQ(p.gpus, 8 - (n - 1));
  EXPECT_TRUE(p.nccl);
  EXPECT_EQ(p.local_size, n);
  // So every rank makes the same choice: cpu, since rank 1 cannot use CUDA.
  EXPECT_EQ(choose_device(DeviceRequest{}, p).describe(), "cpu/mpi");
}

TEST(HostStaging, CpuTensorsPassThroughWithClosedForms) {
  auto& c = world();
  HostStagingCommunicator staged(c);
  const int n = c.size(), r = c.rank();
  auto t = torch::full({4}, static_cast<double>(r + 1), torch::kFloat64);
  staged.allreduce(t, ReduceOp::Sum);
  EXPECT_TRUE(t.eq(n * (n + 1) / 2.0).all().item<bool>());
  auto w = staged.allreduce_async(torch::full({3}, static_cast<float>(r)), ReduceOp::Max);
  w->wait();
  auto b = torch::tensor({r * 10}, torch::kInt64);
  staged.broadcast(b, n - 1);
  EXPECT_EQ(b.item<int64_t>(), (n - 1) * 10);
  EXPECT_EQ(staged.allgather(torch::tensor({r}, torch::kInt32)).sum().item<int64_t>(), n * (n - 1) / 2);
  auto sub = staged.split(0, -r);  // reversed order
  EXPECT_EQ(sub->rank(), n - 1 - r);
  EXPECT_EQ(staged.backend(), "mpi+host-staging");
}

}  // namespace
}  // namespace sprout::runtime
