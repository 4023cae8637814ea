// The per-rank memory model (growth/models/memory_estimate.h rank_memory) against the
// tensors a real training step leaves on each rank (run under mpiexec -n 2 and -n 3):
// parameters, gradients (autograd's .grad plus the engine's buffers) and optimizer state
// must equal the model's bytes exactly, for every optim.shard stage, with the ring, the
// hierarchical and the scattered allreduce (whose scratch differs), on a model with several
// buckets.
#include <gtest/gtest.h>

#include <map>

#include "growth/models/family.h"
#include "growth/models/memory_estimate.h"
#include "growth/models/model.h"
#include "mpi_test_env.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/optim/optimizer.h"
#include "runtime/torch_compat.h"

namespace sprout::launch {
namespace {

using sprout::testing::world;

struct Measured {
  int64_t parameters = 0, gradients = 0, optimizer_state = 0;
};

// One training step as the trainer runs it; then the bytes of what each kind holds.
Measured train_one_step(runtime::Communicator& comm, growth::Model& model, const std::string& shard,
                        double bucket_mb) {
  runtime::DataParallelOptions engine_options{bucket_mb, 0.25, true};
  engine_options.scatter_gradients = shard == "gradients";
  runtime::DataParallel engine(comm, model.params(), engine_options);
  runtime::OptimizerOptions optim;
  optim.name = "adamw";
  optim.shard = shard;
  auto optimizer = runtime::make_optimizer(optim);
  if (shard == "state") optimizer->shard_state(comm);
  if (shard == "gradients") {
    optimizer->shard_state(comm, [&engine](const runtime::ParamSet&) { return engine.gradient_plan(); });
  }
  auto gen = compat::make_generator(7 + comm.rank());
  auto x = at::randn({4, 1, 28, 28}, gen);
  auto y = torch::tensor({1, 2, 3, 4}, torch::kInt64);
  engine.begin_step();
  auto loss = torch::nll_loss(torch::log_softmax(model.forward(x, true), 1), y);
  loss.backward();
  const auto& grads = engine.finish_step();
  if (shard == "gradients") optimizer->step_on_pieces(model.params(), grads, 0.01);
  else optimizer->step(model.params(), grads, 0.01);
  Measured m;
  for (const auto& p : model.params().parameters()) {
    m.parameters += p.numel() * p.element_size();
    if (p.grad().defined()) m.gradients += p.grad().numel() * p.grad().element_size();
  }
  m.gradients += engine.gradient_buffer_bytes();
  m.optimizer_state = optimizer->state_bytes();
  return m;
}

TEST(MemoryModel, EqualsTheTensorsOfARealStepAtEveryShardStage) {
  // 784·300 + 300 + 300·200 + 200 + 200·10 + 10 = 298,010 parameters: with buckets of at most
  // 0.5 MiB (first 0.25 MiB) several buckets, one above the ring's 64 KiB threshold and the
  // small ones below it.
  const auto arch = growth::ArchSpec::parse("kind=mlp;in=1x28x28;classes=10;batch_norm=false;widths=300,200");
  const auto tensors = growth::training_tensors(arch);
  ASSERT_EQ(tensors.parameters.size(), 6u);
  const double bucket_mb = 0.5;
  std::map<std::string, int64_t> gradient_bytes;  // by algorithm, shard none
  for (auto algorithm : {runtime::AllreduceAlgorithm::Auto, runtime::AllreduceAlgorithm::Hierarchical,
                         runtime::AllreduceAlgorithm::Scattered}) {
    for (const std::string shard : {"none", "state", "gradients"}) {
      auto comm = world().split(0, world().rank());
      const int per_node = 2;
      runtime::configure_allreduce(*comm, algorithm, per_node);
      auto model = growth::model_family(arch.kind).build(arch, 1);
      const Measured got = train_one_step(*comm, *model, shard, bucket_mb);
      growth::RankMemoryOptions o;
      o.optimizer_slots = 2;
      o.shard = shard;
      o.world = comm->size();
      o.rank = comm->rank();
      o.allreduce = algorithm;
      o.ranks_per_node = per_node;
      o.bucket_mb = bucket_mb;
      o.first_bucket_mb = 0.25;
      const auto predicted = growth::rank_memory(tensors, o);
      const std::string what = std::string(runtime::to_string(algorithm)) + " shard=" + shard;
      EXPECT_EQ(predicted.parameters, static_cast<double>(got.parameters)) << what;
      EXPECT_EQ(predicted.gradients, static_cast<double>(got.gradients)) << what;
      EXPECT_EQ(predicted.optimizer_state, static_cast<double>(got.optimizer_state)) << what;
      EXPECT_GT(got.optimizer_state, 0) << what;
      if (shard == "none") gradient_bytes[runtime::to_string(algorithm)] = got.gradients;
    }
  }
  // On one node of 2 ranks auto is the ring, whose scratch differs from the hierarchical
  // one's (1/N of a bucket on every rank vs a whole bucket on a node's first rank) and the
  // scattered one's (the other rank's piece of this rank's chunk: none on the second rank
  // for hierarchical, half a bucket for scattered): the model followed all three. (On 3
  // ranks in 2 nodes auto picks scattered for some buckets.)
  if (world().size() == 2 && world().rank() == 0) {
    EXPECT_GT(gradient_bytes["hierarchical"], gradient_bytes["auto"]);
  }
  if (world().size() == 2 && world().rank() == 1) {
    EXPECT_GT(gradient_bytes["scattered"], gradient_bytes["hierarchical"]);
  }
}

TEST(MemoryModel, ShardingShrinksStateAndGradientsByTheWorldSize) {
  const auto arch = growth::ArchSpec::parse("kind=mlp;in=1x28x28;classes=10;batch_norm=false;widths=300,200");
  const auto tensors = growth::training_tensors(arch);
  growth::RankMemoryOptions o;
  o.optimizer_slots = 2;
  o.world = 4;
  const auto none = growth::rank_memory(tensors, o);
  o.shard = "state";
  const auto state = growth::rank_memory(tensors, o);
  o.shard = "gradients";
  const auto grads = growth::rank_memory(tensors, o);
  EXPECT_NEAR(state.optimizer_state, none.optimizer_state / 4, 8 * 4);
  EXPECT_EQ(state.gradients, none.gradients);
  EXPECT_LT(grads.gradients, none.gradients);
  EXPECT_NEAR(grads.optimizer_state, none.optimizer_state / 4, 8 * 4 * 6);
}

}  // namespace
}  // namespace sprout::launch
