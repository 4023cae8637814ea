// A torch::nn::Module under the data-parallel engine (launch/api/module_model.h): the
// module's own parameters get the engine's gradient hooks, so buckets reduce during
// backward and the averaged gradients are the ranks' mean; an optimizer step leaves every
// rank's module bit-identical. Run under mpiexec -n 2 and -n 3.
#include <gtest/gtest.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "launch/api/module_model.h"
#include "mpi_test_env.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/optim/optimizer.h"
#include "runtime/tensor_util.h"
#include "runtime/torch_compat.h"

namespace sprout::api {
namespace {

using sprout::testing::world;

void register_mpi_module() {
  static const bool once = [] {
    register_module("mpi_seq", [](const growth::ArchSpec& s) {
      return torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(s.in_height * s.in_width, 16),
                                   torch::nn::ReLU(), torch::nn::Linear(16, s.classes));
    });
    return true;
  }();
  (void)once;
}

int64_t hash_on(int rank, const torch::Tensor& t) {
  auto h = torch::tensor({static_cast<int64_t>(runtime::tensor_hash(t))}, torch::kInt64);
  return world().allgather(h)[rank].item<int64_t>();
}

TEST(ModuleUnderEngine, HooksFireOnTheModulesParametersAndGradientsAreTheMean) {
  register_mpi_module();
  growth::ArchSpec spec;
  spec.kind = "mpi_seq";
  spec.in_height = spec.in_width = 6;
  spec.classes = 4;
  auto model = growth::build_model(spec, /*seed=*/10 + world().rank());  // replicas differ until broadcast
  auto& params = model->params();
  // Buckets of ~100 floats: several, so that some start while backward still runs.
  runtime::DataParallel engine(world(), params, runtime::DataParallelOptions{0.0004, 0.0004, true});
  engine.broadcast_state(0);
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    EXPECT_EQ(hash_on(0, params.parameter(i)), hash_on(world().rank(), params.parameter(i))) << i;
  }
  auto optimizer = runtime::make_optimizer(runtime::OptimizerOptions{});
  optimizer->ensure_state(params);
  for (int step = 0; step < 2; ++step) {
    auto gen = compat::make_generator(100 * step + world().rank());
    const auto x = torch::randn({8, 1, 6, 6}, gen);
    const auto y = torch::randint(0, 4, {8}, gen);
    engine.begin_step();
    params.zero_grad();
    at::cross_entropy_loss(model->forward(x, true), y).backward();
    std::vector<torch::Tensor> local;
    for (const auto& p : params.parameters()) {
      ASSERT_TRUE(p.grad().defined()) << "the module's forward did not reach the bound parameter";
      local.push_back(p.grad().clone());
    }
    const auto& averaged = engine.finish_step();
    if (world().size() > 1) EXPECT_GT(engine.buckets_started_early(), 0u) << "no hook fired during backward";
    for (size_t i = 0; i < local.size(); ++i) {
      auto mean = local[i].clone();
      world().allreduce(mean, runtime::ReduceOp::Sum);
      mean.div_(world().size());
      EXPECT_TRUE(averaged[i].allclose(mean, 1e-5, 1e-6)) << params.parameter_name(i) << " step " << step;
    }
    const auto before = params.parameter(0).clone();
    optimizer->step(params, averaged, 0.1);
    EXPECT_FALSE(params.parameter(0).equal(before)) << "the step did not change the module's weight";
  }
  auto& module = dynamic_cast<ModuleModel&>(*model).module();
  for (const auto& p : module.named_parameters()) {
    EXPECT_EQ(hash_on(0, p.value()), hash_on(world().rank(), p.value())) << p.key();
  }
}

}  // namespace
}  // namespace sprout::api
