// Skipping GPU tests with a visible reason, the same way on every rank.
//
// A reason is agreed over the world (runtime::agree_probe), so every rank skips or runs a
// test together and no rank is left waiting in a collective. When no rank has a usable GPU,
// rank 0 also prints "SPROUT_GPU_SKIP: <reason>", which tests/gpu/CMakeLists.txt turns into
// a CTest "skipped" result.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "mpi_test_env.h"
#include "runtime/device/device.h"
#include "runtime/error.h"

namespace sprout::testing {

// "" when every rank has a GPU LibTorch can use, else why not. Collective.
inline std::string cuda_skip_reason() {
  const auto p = runtime::agree_probe(world(), runtime::probe_device(mpi_env().local_size(), mpi_env().local_rank()));
  if (!p.torch_cuda) return "LibTorch has no CUDA (or no CUDA driver): GPU test not run";
  if (p.gpus == 0) return "no GPU visible: GPU test not run";
  return "";
}

// "" when every rank can run NCCL on a GPU of its own, else why not. Collective.
inline std::string nccl_skip_reason() {
  const auto cuda = cuda_skip_reason();
  if (!cuda.empty()) return cuda;
  const auto p = runtime::agree_probe(world(), runtime::probe_device(mpi_env().local_size(), mpi_env().local_rank()));
  if (!p.nccl) return "sprout was built without NCCL: NCCL test not run";
  if (!p.gpu_sharing.empty()) return concat(p.gpu_sharing, "; NCCL needs one GPU per rank: NCCL test not run");
  return "";
}

// This rank's GPU (local rank modulo the GPUs it sees).
inline torch::Device this_rank_gpu() {
  const auto p = runtime::probe_device(mpi_env().local_size(), mpi_env().local_rank());
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(mpi_env().local_rank() % std::max(p.gpus, 1)));
}

}  // namespace sprout::testing

// Skips the current test (from a test body or SetUp) when `reason` is not empty.
#define SPROUT_SKIP_IF(reason)                                                                    \
  do {                                                                                            \
    const std::string sprout_reason_ = (reason);                                                  \
    if (!sprout_reason_.empty()) {                                                                \
      if (::sprout::testing::world().rank() == 0 && sprout_reason_.find("GPU test") != std::string::npos) \
        std::printf("SPROUT_GPU_SKIP: %s\n", sprout_reason_.c_str());                              \
      GTEST_SKIP() << sprout_reason_;                                                             \
    }                                                                                             \
  } while (0)
