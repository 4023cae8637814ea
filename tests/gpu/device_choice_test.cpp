// Device and backend selection (runtime/device/device.h): every rule, on made-up probes, so it
// runs on any machine.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "launch/train/train_config.h"
#include "launch/cli/device_options.h"
#include "runtime/device/device.h"
#include "runtime/error.h"
#include "runtime/comm/host_staging_communicator.h"
#include "runtime/comm/nccl_bootstrap.h"

namespace sprout::runtime {
namespace {

DeviceProbe probe(bool torch_cuda, int gpus, bool nccl, int local_size) {
  DeviceProbe p;
  p.torch_cuda = torch_cuda;
  p.gpus = gpus;
  p.nccl = nccl;
  p.local_size = local_size;
  p.gpu_sharing = gpu_sharing({RankGpu{"node", "", gpus, local_size}});  // bus ids unknown: the count decides
  return p;
}

// Through launch, which words runtime's SettingError with the option names.
std::string choose(const std::string& device, const std::string& backend, const DeviceProbe& p) {
  DeviceRequest r;
  r.device = device;
  r.backend = backend;
  return launch::choose_device_for_options(r, p).describe();
}

std::string choice_error(const std::string& device, const std::string& backend, const DeviceProbe& p) {
  try {
    choose(device, backend, p);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceChoice, AutoFollowsWhatEveryRankHas) {
  EXPECT_EQ(choose("auto", "auto", probe(false, 0, false, 1)), "cpu/mpi");  // Debian LibTorch
  EXPECT_EQ(choose("auto", "auto", probe(false, 0, true, 4)), "cpu/mpi");   // NCCL built, no CUDA torch
  EXPECT_EQ(choose("auto", "auto", probe(true, 0, true, 1)), "cpu/mpi");    // CUDA torch, no GPU visible
  EXPECT_EQ(choose("auto", "auto", probe(true, 8, true, 8)), "cuda/nccl");
  EXPECT_EQ(choose("auto", "auto", probe(true, 8, false, 8)), "cuda/mpi");  // built without NCCL
  EXPECT_EQ(choose("auto", "auto", probe(true, 1, true, 2)), "cuda/mpi");   // two ranks share one GPU
  EXPECT_EQ(choose("auto", "mpi", probe(true, 2, true, 2)), "cuda/mpi");
  EXPECT_EQ(choose("auto", "nccl", probe(true, 2, true, 2)), "cuda/nccl");
}

TEST(DeviceChoice, ExplicitRequestsAreHonouredOrRejected) {
  EXPECT_EQ(choose("cpu", "auto", probe(true, 8, true, 8)), "cpu/mpi");
  EXPECT_EQ(choose("cpu", "mpi", probe(true, 8, true, 8)), "cpu/mpi");
  EXPECT_EQ(choose("cuda", "auto", probe(true, 1, true, 1)), "cuda/nccl");
  EXPECT_EQ(choose("cuda", "mpi", probe(true, 1, true, 3)), "cuda/mpi");
  EXPECT_EQ(choose("cuda", "nccl", probe(true, 4, true, 4)), "cuda/nccl");

  EXPECT_EQ(choice_error("cuda", "auto", probe(false, 0, true, 1)),
            "--runtime.device: cuda needs a LibTorch built with CUDA, and this sprout's LibTorch has none (or no CUDA driver)");
  EXPECT_EQ(choice_error("cuda", "auto", probe(true, 0, true, 1)),
            "--runtime.device: cuda needs a GPU, but none is visible on at least one rank (check CUDA_VISIBLE_DEVICES)");
  EXPECT_EQ(choice_error("auto", "nccl", probe(true, 0, true, 1)),
            "--runtime.backend: nccl needs a GPU, but none is visible on at least one rank (check CUDA_VISIBLE_DEVICES)");
  EXPECT_EQ(choice_error("cuda", "nccl", probe(true, 2, false, 2)),
            "--runtime.backend: nccl, but this sprout was built without NCCL (configure with -DSPROUT_WITH_NCCL=ON)");
  EXPECT_EQ(choice_error("cuda", "nccl", probe(true, 1, true, 3)),
            "--runtime.backend: nccl needs one GPU per rank, but a node runs 3 ranks on 1 GPU(s); start fewer ranks "
            "per node or use --runtime.backend mpi");
  EXPECT_EQ(choice_error("cpu", "nccl", probe(true, 2, true, 1)),
            "--runtime.backend: nccl carries CUDA tensors only; it needs --runtime.device cuda (or auto), not cpu");
}

TEST(DeviceChoice, OneGpuPerRankIsJudgedByBusIdsAcrossTheNodesRanks) {
  const std::string a = "0000:3b:00.0", b = "0000:5e:00.0";
  // Per-rank visibility (Slurm --gpus-per-task, --gpu-bind): each rank sees one GPU, another one.
  EXPECT_EQ(gpu_sharing({{"n1", a, 1, 2}, {"n1", b, 1, 2}}), "");
  // Two ranks that see all GPUs and pick different ones by local rank.
  EXPECT_EQ(gpu_sharing({{"n1", a, 2, 2}, {"n1", b, 2, 2}}), "");
  // The same GPU on two nodes is two GPUs.
  EXPECT_EQ(gpu_sharing({{"n1", a, 1, 1}, {"n2", a, 1, 1}}), "");
  // Two ranks of one node on one GPU (each sees the same single GPU, or binding went wrong).
  EXPECT_EQ(gpu_sharing({{"n1", a, 1, 2}, {"n2", a, 1, 1}, {"n1", a, 1, 2}}),
            "ranks 0 and 2 on node n1 both use GPU 0000:3b:00.0");
  // Bus ids unknown: the count decides.
  EXPECT_EQ(gpu_sharing({{"n1", "", 4, 4}}), "");
  EXPECT_EQ(gpu_sharing({{"n1", "", 1, 3}}), "a node runs 3 ranks on 1 GPU(s)");
  EXPECT_EQ(gpu_sharing({}), "");

  // The choice follows the ids, not the count: 4 ranks per node, one GPU visible to each.
  DeviceProbe per_rank = probe(true, 1, true, 4);
  per_rank.gpu_sharing = gpu_sharing({{"n1", a, 1, 4}, {"n1", b, 1, 4}, {"n1", "0000:86:00.0", 1, 4},
                                      {"n1", "0000:af:00.0", 1, 4}});
  EXPECT_EQ(per_rank.gpu_sharing, "");
  EXPECT_EQ(choose("auto", "auto", per_rank), "cuda/nccl");
  EXPECT_EQ(choose("cuda", "nccl", per_rank), "cuda/nccl");
  DeviceProbe shared = probe(true, 2, true, 2);
  shared.gpu_sharing = gpu_sharing({{"n1", a, 2, 2}, {"n1", a, 2, 2}});
  EXPECT_EQ(choose("auto", "auto", shared), "cuda/mpi");
  EXPECT_EQ(choice_error("cuda", "nccl", shared),
            "--runtime.backend: nccl needs one GPU per rank, but ranks 0 and 1 on node n1 both use GPU 0000:3b:00.0; "
            "start fewer ranks per node or use --runtime.backend mpi");
}

TEST(DeviceChoice, HostStagingNeedsMpiThreadMultiple) {
  EXPECT_NO_THROW(require_staging_thread_level(MPI_THREAD_MULTIPLE));
  try {
    require_staging_thread_level(MPI_THREAD_SERIALIZED);
    ADD_FAILURE() << "MPI_THREAD_SERIALIZED accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("needs MPI_THREAD_MULTIPLE"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("grants MPI_THREAD_SERIALIZED"), std::string::npos) << e.what();
  }
  EXPECT_THROW(require_staging_thread_level(MPI_THREAD_FUNNELED), ConfigError);
}

TEST(DeviceChoice, OptionValuesAreValidatedWithOneLine) {
  auto error = [](const std::vector<std::string>& args) -> std::string {
    try {
      launch::read_train_config(launch::Options::parse(launch::train_option_table(), args));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  const std::vector<std::string> base{"--data.name", "synthetic"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), base.begin(), base.end());
    return extra;
  };
  EXPECT_EQ(error(with({"--runtime.device", "gpu"})), "--runtime.device: 'gpu' is not one of auto, cpu, cuda");
  EXPECT_EQ(error(with({"--runtime.backend", "gloo"})), "--runtime.backend: 'gloo' is not one of auto, mpi, nccl");
  EXPECT_EQ(error(with({"--runtime.device", "cpu", "--runtime.backend", "nccl"})),
            "--runtime.backend: nccl carries CUDA tensors only; it needs --runtime.device cuda (or auto), not cpu");
  const auto c = launch::read_train_config(launch::Options::parse(launch::train_option_table(), with({})));
  EXPECT_EQ(c.device.device, "auto");
  EXPECT_EQ(c.device.backend, "auto");
  EXPECT_NE(c.text.find("runtime.backend = auto"), std::string::npos);  // compared across ranks
}

// runtime itself names the request's fields, never a command-line option.
TEST(DeviceChoice, RuntimeNamesFieldsNotOptions) {
  DeviceRequest r;
  r.device = "cpu";
  r.backend = "nccl";
  try {
    choose_device(r, probe(true, 1, true, 1));
    ADD_FAILURE() << "cpu with nccl accepted";
  } catch (const SettingError& e) {
    EXPECT_EQ(e.setting(), "backend");
    EXPECT_STREQ(e.what(), "backend: nccl carries CUDA tensors only; it needs device cuda (or auto), not cpu");
  }
}

TEST(DeviceChoice, ThisBuildAndThisMachine) {
  // CMake's detection reaches the code: SPROUT_EXPECT_NCCL is set by tests/gpu/CMakeLists.txt.
  EXPECT_EQ(nccl_built(), SPROUT_EXPECT_NCCL != 0);
  EXPECT_EQ(nccl_version() == "not built", SPROUT_EXPECT_NCCL == 0) << nccl_version();
  const auto p = probe_device(3, 0);
  EXPECT_EQ(p.local_size, 3);
  EXPECT_FALSE(p.host.empty());
  if (p.gpus == 0) {
    EXPECT_EQ(p.gpu_id, "");
    EXPECT_EQ(p.gpu_sharing, "a node runs 3 ranks on 0 GPU(s)");
  }
  EXPECT_EQ(p.nccl, nccl_built());
  if (!p.torch_cuda) {
    EXPECT_EQ(p.gpus, 0);
  }
  // Whatever this machine has, auto/auto picks something and never throws.
  EXPECT_NO_THROW(choose_device(DeviceRequest{}, p));
}

TEST(DeviceChoice, LocalRankAndGpu) {
  EXPECT_EQ(local_rank_from_environment(2), 2);  // MPI's answer wins
  ::setenv("OMPI_COMM_WORLD_LOCAL_RANK", "5", 1);
  EXPECT_EQ(local_rank_from_environment(-1), 5);
  ::unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
  ::setenv("SLURM_LOCALID", "3", 1);
  EXPECT_EQ(local_rank_from_environment(-1), 3);
  ::setenv("SLURM_LOCALID", "x", 1);
  EXPECT_EQ(local_rank_from_environment(-1), 0);  // unreadable: ignored
  ::unsetenv("SLURM_LOCALID");
  EXPECT_EQ(gpu_for_local_rank(0, 4), 0);
  EXPECT_EQ(gpu_for_local_rank(5, 4), 1);
  EXPECT_THROW(gpu_for_local_rank(0, 0), ConfigError);
}

}  // namespace
}  // namespace sprout::runtime
