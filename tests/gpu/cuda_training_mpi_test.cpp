// Data-parallel training on CUDA tensors (GPU only; run under mpiexec -n 1 and -n 2):
// the backend `auto` picks (NCCL with a GPU per rank, else MPI with host staging) keeps
// the replicas bitwise identical and follows the same trajectory as the CPU/MPI run.
// Growth on CUDA tensors (every strategy) keeps the replicas identical, on the device, and
// equal to the same growth on the CPU. Skipped with the reason on machines without a GPU.
// TF32 is switched off for these comparisons (compat::use_full_fp32_on_cuda): with cuDNN's
// default TF32 convolutions the GPU differs from the CPU by ~1e-3 relative, and GradMax's
// new weights come from a GPU backward.
#include <gtest/gtest.h>

#include <cstdlib>

#include "data/dataset.h"
#include "gpu_test_util.h"
#include "growth/models/model.h"
#include "growth/strategies/strategy.h"
#include "../growth/growth_test_util.h"
#include "runtime/comm/backend.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/device/transfer.h"
#include "runtime/comm/fingerprint.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/optim/optimizer.h"
#include "runtime/torch_compat.h"

namespace sprout::runtime {
namespace {

using sprout::testing::mpi_env;
using sprout::testing::world;

struct Replica {
  std::unique_ptr<growth::Model> model;
  std::unique_ptr<Optimizer> optimizer;
};

// Five SGD steps of a small MLP; every rank reads its own slice of the data.
Replica train(Communicator& comm, torch::Device device) {
  growth::ArchSpec spec;
  spec.set_ints("widths", {64, 32});
  Replica r{growth::build_model(spec, 5), nullptr};
  auto& params = r.model->params();
  move_to_device(params, device);
  OptimizerOptions o;
  o.lr = 0.1;
  r.optimizer = make_optimizer(o);
  r.optimizer->ensure_state(params);
  // Small buckets: several collectives per step.
  DataParallel engine(comm, params, DataParallelOptions{0.01, 0.005});
  engine.broadcast_state(0);
  const auto data = data::make_synthetic(64 * comm.size() * 5, 3, 3);
  for (int step = 0; step < 5; ++step) {
    auto idx = torch::arange((step * comm.size() + comm.rank()) * 64, (step * comm.size() + comm.rank() + 1) * 64);
    auto x = data::to_input(to_device(data.images.index_select(0, idx), device), 0.5, 0.25);  // (64, 1, 28, 28)
    auto y = to_device(data.labels.index_select(0, idx), device);                             // (64)
    engine.begin_step();
    auto loss = at::cross_entropy_loss(r.model->forward(x, true), y);
    loss.backward();
    const auto& grads = engine.finish_step();
    EXPECT_TRUE(grads.at(0).device() == device) << "gradient buckets live on the parameters' device";
    r.optimizer->step(params, grads, o.lr);
  }
  verify_identical(comm, params, r.optimizer.get(), "training on " + device.str());
  return r;
}

// The backend `auto` picks for runtime.device = cuda on this rank's GPU (collective), with
// TF32 off so that results compare with the CPU's at float32 tolerances.
std::unique_ptr<Communicator> cuda_backend(torch::Device device) {
  compat::use_full_fp32_on_cuda();
  EXPECT_FALSE(compat::cuda_tf32_allowed());
  set_current_device(device);
  const auto probe = agree_probe(world(), probe_device(mpi_env().local_size(), mpi_env().local_rank()));
  DeviceRequest request;
  request.device = "cuda";
  // mpi_gpu_staging_n2 (tests/gpu/CMakeLists.txt) forces host staging even where NCCL fits.
  if (const char* backend = std::getenv("SPROUT_GPU_TEST_BACKEND")) request.backend = backend;
  const auto choice = choose_device(request, probe);
  BackendOptions options;
  options.gpu = device.index();
  if (auto* mpi = dynamic_cast<MpiCommunicator*>(&world())) options.watchdog = mpi->watchdog();
  auto comm = make_backend(world(), choice, options);
  SPROUT_CHECK(comm, Error, "no backend for ", choice.describe());
  return comm;
}

TEST(CudaTraining, ReplicasStayIdenticalAndMatchTheCpuRun) {
  SPROUT_SKIP_IF(sprout::testing::cuda_skip_reason());
  const auto device = sprout::testing::this_rank_gpu();
  auto gpu_comm = cuda_backend(device);
  if (world().rank() == 0) std::printf("backend on cuda: %s\n", gpu_comm->backend().c_str());

  const auto gpu = train(*gpu_comm, device);
  const auto cpu = train(world(), torch::kCPU);
  const auto& gp = gpu.model->params();
  const auto& cp = cpu.model->params();
  ASSERT_EQ(gp.num_parameters(), cp.num_parameters());
  for (size_t i = 0; i < gp.num_parameters(); ++i) {
    EXPECT_TRUE(gp.parameter(i).is_cuda());
    // Different kernels, same arithmetic: equal up to float32 rounding.
    EXPECT_TRUE(torch::allclose(gp.parameter(i).cpu(), cp.parameter(i), 1e-4, 1e-5)) << gp.parameter_name(i);
  }
}

TEST(CudaTraining, GrowthOnCudaKeepsReplicasIdenticalAndMatchesTheCpu) {
  SPROUT_SKIP_IF(sprout::testing::cuda_skip_reason());
  const auto device = sprout::testing::this_rank_gpu();
  auto gpu_comm = cuda_backend(device);
  for (const auto& arch : {sprout::testing::mlp_arch(true), sprout::testing::cnn_arch(true)}) {
    for (const auto& strategy : growth::strategy_names()) {
      SCOPED_TRACE(arch.describe() + " " + strategy);
      auto run = [&](Communicator& comm, torch::Device dev) {
        auto m = sprout::testing::trained_looking_model(arch, 3);
        move_to_device(m->params(), dev);
        OptimizerOptions oo;
        oo.name = "adamw";
        auto opt = make_optimizer(oo);
        opt->ensure_state(m->params());
        auto batch = sprout::testing::random_batch(arch, 8, 4);
        batch.x = batch.x.to(dev);
        batch.y = batch.y.to(dev);
        batch.global_size = 8 * comm.size();
        sprout::testing::GrowOptions go;
        go.strategy = strategy;
        go.step = 1;
        sprout::testing::grow_site(comm, *m, arch.kind == "cnn" ? "conv1" : "fc1", 3, &batch, opt.get(), go);
        verify_identical(comm, m->params(), opt.get(), "growth on " + dev.str());
        return std::make_pair(std::move(m), std::move(opt));
      };
      auto [gm, gopt] = run(*gpu_comm, device);
      auto [cm, copt] = run(world(), torch::kCPU);
      const auto& gp = gm->params();
      const auto& cp = cm->params();
      for (size_t i = 0; i < gp.num_parameters(); ++i) {
        EXPECT_TRUE(gp.parameter(i).is_cuda()) << gp.parameter_name(i) << " left the device";
        EXPECT_EQ(gp.parameter(i).sizes(), cp.parameter(i).sizes()) << gp.parameter_name(i);
        EXPECT_TRUE(torch::allclose(gp.parameter(i).cpu(), cp.parameter(i), 1e-4, 1e-5)) << gp.parameter_name(i);
        for (const auto& [slot, v] : gopt->slots(gp.parameter_name(i))) {
          EXPECT_TRUE(v.is_cuda()) << gp.parameter_name(i) << " " << slot << " left the device";
        }
      }
      for (size_t i = 0; i < gp.buffers().size(); ++i) EXPECT_TRUE(gp.buffers()[i].is_cuda()) << gp.buffer_names()[i];
    }
  }
}

TEST(CudaTraining, StagedMpiCarriesCudaTensors) {
  SPROUT_SKIP_IF(sprout::testing::cuda_skip_reason());
  const auto device = sprout::testing::this_rank_gpu();
  set_current_device(device);
  DeviceChoice choice;
  choice.device = DeviceKind::Cuda;
  choice.backend = BackendKind::Mpi;
  auto staged = make_backend(world(), choice, BackendOptions{device.index(), nullptr});
  const int n = staged->size(), r = staged->rank();
  auto t = torch::full({1000}, static_cast<float>(r + 1), torch::TensorOptions().device(device));
  staged->allreduce(t, ReduceOp::Avg);
  EXPECT_TRUE(t.is_cuda());
  EXPECT_TRUE(t.eq((n + 1) / 2.0).all().item<bool>());
  auto w = staged->allreduce_async(t, ReduceOp::Sum);
  w->wait();
  EXPECT_TRUE(t.eq(n * (n + 1) / 2.0).all().item<bool>());
  auto g = staged->allgather(torch::full({2}, r, torch::TensorOptions().dtype(torch::kInt64).device(device)));
  EXPECT_TRUE(g.is_cuda());
  EXPECT_EQ(g.sum().item<int64_t>(), 2 * n * (n - 1) / 2);
}

}  // namespace
}  // namespace sprout::runtime
