// Growth across ranks (mpiexec -n 2, -n 3; growth/README.md "Invariants the tests check",
// 5): M is reduced over the global batch; after every strategy the replicas are bitwise
// identical (parameters, buffers, optimizer state) although each rank saw a different part
// of the batch; the data-parallel engine rebuilds its buckets.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "growth/depth.h"
#include "growth/site_resize.h"
#include "growth/strategies/gradient_statistics.h"
#include "growth_test_util.h"
#include "mpi_test_env.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/error.h"
#include "runtime/comm/fingerprint.h"

namespace sprout::growth {
namespace {

using sprout::testing::world;

GrowthBatch my_share(const GrowthBatch& full) {
  const int64_t g = full.x.size(0), r = world().rank(), n = world().size();
  GrowthBatch b;
  b.x = full.x.narrow(0, g * r / n, g * (r + 1) / n - g * r / n);
  b.y = full.y.narrow(0, g * r / n, g * (r + 1) / n - g * r / n);
  b.global_size = g;
  return b;
}

TEST(GrowthMpi, MatrixReducedOverRanksEqualsTheGlobalBatchMatrix) {
  for (const auto& arch : {sprout::testing::mlp_arch(true), sprout::testing::cnn_arch(false), sprout::testing::resnet_arch(),
                           sprout::testing::vit_arch()}) {
    auto m = sprout::testing::trained_looking_model(arch, 1);
    const auto full = sprout::testing::random_batch(arch, 13, 2);  // 13: uneven shares
    for (const auto& site : m->sites()) {
      SCOPED_TRACE(arch.describe() + " " + site.name);
      auto mine = growth_matrix(*m, site, my_share(full));
      world().allreduce(mine, runtime::ReduceOp::Sum);
      const auto ref = growth_matrix(*m, site, full);
      EXPECT_LT(sprout::testing::max_rel_diff(mine, ref), 1e-5);
    }
  }
}

TEST(GrowthMpi, EveryStrategyLeavesBitwiseIdenticalReplicas) {
  auto& w = world();
  for (const auto& arch : {sprout::testing::mlp_arch(true), sprout::testing::cnn_arch(true), sprout::testing::resnet_arch(),
                           sprout::testing::vit_arch()}) {
    for (const auto& strategy : strategy_names()) {
      SCOPED_TRACE(arch.describe() + " " + strategy);
      const std::string site = arch.kind == "cnn" ? "conv1" : arch.kind == "resnet" ? "block2.conv1" : arch.kind == "vit" ? "block2.fc1" : "fc1";
      auto m = sprout::testing::trained_looking_model(arch, 3);  // same seed: same replica
      if (!make_strategy(strategy)->refusal(m->site(site)).empty()) continue;  // vt on GELU (strategies_test.cpp)
      runtime::OptimizerOptions oo;
      oo.name = "adamw";
      auto opt = runtime::make_optimizer(oo);
      runtime::DataParallel engine(w, m->params());
      // One data-parallel step on rank-dependent data, so the optimizer state is non-trivial.
      const auto data = sprout::testing::random_batch(arch, 6, 10 + w.rank());
      engine.begin_step();
      at::cross_entropy_loss(m->forward(data.x, true), data.y).backward();
      opt->step(m->params(), engine.finish_step(), 0.01);
      engine.average_buffers();
      ASSERT_EQ(engine.rebuilds(), 1);
      // Each rank holds a different share of the growth batch.
      const auto share = my_share(sprout::testing::random_batch(arch, 10, 4));
      const auto probe = sprout::testing::random_batch(arch, 6, 30).x;
      const auto before = m->forward(probe, false).detach();
      std::map<std::string, torch::Tensor> state;
      for (const auto& [name, slots] : opt->state()) state[name] = slots.at("exp_avg").clone();
      sprout::testing::GrowOptions go;
      go.strategy = strategy;
      go.step = 1;
      ASSERT_NO_THROW(sprout::testing::grow_site(w, *m, site, 3, &share, opt.get(), go));
      EXPECT_NO_THROW(runtime::verify_identical(w, m->params(), opt.get(), "after growth"));
      EXPECT_LT(sprout::testing::max_rel_diff(m->forward(probe, false).detach(), before), 1e-6);  // function kept
      for (const auto& [name, old] : state) {
        auto now = opt->slots(name).at("exp_avg");
        for (int64_t d = 0; d < old.dim(); ++d) now = now.narrow(d, 0, old.size(d));
        EXPECT_TRUE(now.equal(old)) << name;  // old entries bit-exact
        auto rest = opt->slots(name).at("exp_avg").clone();
        auto hole = rest;
        for (int64_t d = 0; d < old.dim(); ++d) hole = hole.narrow(d, 0, old.size(d));
        hole.zero_();
        EXPECT_TRUE(rest.eq(0).all().item<bool>()) << name;  // new entries 0
      }
      const double norm = new_fan_in_grad_norm(w, *m, m->site(site), m->site(site).width - 3, share);
      EXPECT_EQ(runtime::allreduce_scalar(w, norm, runtime::ReduceOp::Max), norm);
      // The engine notices the new tensors and trains on.
      engine.begin_step();
      EXPECT_EQ(engine.rebuilds(), 2);
      at::cross_entropy_loss(m->forward(data.x, true), data.y).backward();
      const auto& grads = engine.finish_step();
      EXPECT_EQ(grads[0].sizes(), m->params().parameter(0).sizes());
      opt->step(m->params(), grads, 0.01);
      engine.average_buffers();
      EXPECT_NO_THROW(runtime::verify_identical(w, m->params(), opt.get(), "a step after growth"));
    }
  }
}

// Heads and residual groups (a ViT's heads and stream, a ResNet's stages) grown by every
// strategy that accepts them (gradmax: heads, its M reduced over the ranks' shares), rank
// 0's random choices broadcast: bitwise identical
// replicas, optimizer state included, and the engine trains on.
TEST(GrowthMpi, GroupGrowthLeavesBitwiseIdenticalReplicas) {
  auto& w = world();
  const std::vector<std::pair<ArchSpec, std::vector<std::string>>> cases = {
      {sprout::testing::resnet_arch(), {"stage1", "stage2"}},
      {sprout::testing::vit_arch(), {"block1.heads", "stream"}}};
  for (const auto& [arch, groups] : cases) {
    for (const auto& name : groups) {
      for (const std::string strategy : {"zeros", "random", "net2net", "gradmax"}) {
        SCOPED_TRACE(arch.kind + " " + name + " " + strategy);
        auto m = sprout::testing::trained_looking_model(arch, 3);
        const int64_t add = m->site(name).normalised_over_units ? m->site(name).width : 3;
        if (!make_strategy(strategy)->refusal_to_add(m->site(name), add).empty()) continue;  // groups_test.cpp
        runtime::OptimizerOptions oo;
        oo.name = "adamw";
        auto opt = runtime::make_optimizer(oo);
        runtime::DataParallel engine(w, m->params());
        const auto data = sprout::testing::random_batch(arch, 6, 10 + w.rank());  // rank-dependent
        engine.begin_step();
        at::cross_entropy_loss(m->forward(data.x, true), data.y).backward();
        opt->step(m->params(), engine.finish_step(), 0.01);
        engine.average_buffers();
        const auto probe = sprout::testing::random_batch(arch, 5, 30).x;
        const auto before = m->forward(probe, false).detach();
        sprout::testing::GrowOptions go;
        go.strategy = strategy;
        go.seed = 11 + static_cast<uint64_t>(w.rank());  // only rank 0's generator may count
        go.step = 1;
        const auto share = my_share(sprout::testing::random_batch(arch, 10, 4));  // gradmax: M over the ranks
        ASSERT_NO_THROW(sprout::testing::grow_site(w, *m, name, add, &share, opt.get(), go));
        EXPECT_NO_THROW(runtime::verify_identical(w, m->params(), opt.get(), "after group growth"));
        EXPECT_LT(sprout::testing::max_rel_diff(m->forward(probe, false).detach(), before), 1e-5);
        engine.begin_step();
        at::cross_entropy_loss(m->forward(data.x, true), data.y).backward();
        opt->step(m->params(), engine.finish_step(), 0.01);
        engine.average_buffers();
        EXPECT_NO_THROW(runtime::verify_identical(w, m->params(), opt.get(), "a step after group growth"));
      }
    }
  }
}

TEST(GrowthMpi, DepthGrowthLeavesBitwiseIdenticalReplicas) {
  // A block added to a ResNet stage (appended, and inserted inside a stage of two) and after
  // a ViT's last block, an identity layer inserted into an mlp and a cnn (net2net): every
  // rank ends with the same tensors, state and order (the commit compares them), the
  // function is kept, and a data-parallel step afterwards (buckets rebuilt) keeps the
  // replicas identical.
  auto& w = world();
  ArchSpec resnet16 = sprout::testing::resnet_arch();
  resnet16.set_integer("depth", 16);
  resnet16.set_ints("inner", {6, 5, 7, 4, 6, 5});
  const std::vector<std::string> blocks = {"zeros", "random", "gradmax"}, layers = {"net2net"};
  const std::vector<std::tuple<ArchSpec, std::string, std::vector<std::string>>> cases = {
      {sprout::testing::resnet_arch(), "stage2", blocks},
      {resnet16, "stage2@1", blocks},
      {sprout::testing::vit_arch(), "blocks", blocks},
      {sprout::testing::mlp_arch(true), "fc1", layers},
      {sprout::testing::cnn_arch(true), "conv1", layers}};
  for (const auto& [arch, place, strategies] : cases) {
    for (const auto& strategy : strategies) {
      SCOPED_TRACE(arch.kind + " " + place + " " + strategy);
      auto m = sprout::testing::trained_looking_model(arch, 3);
      runtime::OptimizerOptions oo;
      oo.name = "adamw";
      auto opt = runtime::make_optimizer(oo);
      runtime::DataParallel engine(w, m->params());
      const auto data = sprout::testing::random_batch(arch, 6, 10 + w.rank());  // rank-dependent
      engine.begin_step();
      at::cross_entropy_loss(m->forward(data.x, true), data.y).backward();
      opt->step(m->params(), engine.finish_step(), 0.01);
      engine.average_buffers();
      const auto probe = sprout::testing::random_batch(arch, 5, 30).x;
      const auto before = m->forward(probe, false).detach();
      runtime::SurgeryOptions so;
      so.context = "test depth";
      runtime::Surgery surgery(w, m->params(), opt.get(), so);
      // Only rank 0's seed may count: the new tensors are computed there and broadcast.
      const auto share = my_share(sprout::testing::random_batch(arch, 10, 4));  // gradmax: M over the ranks
      ASSERT_NO_THROW(
          grow_depth(surgery, *m, place, 1, strategy, 1, 11 + static_cast<uint64_t>(w.rank()), opt.get(), &share));
      EXPECT_NO_THROW(runtime::verify_identical(w, m->params(), opt.get(), "after depth growth"));
      EXPECT_LT(sprout::testing::max_rel_diff(m->forward(probe, false).detach(), before), 1e-5);
      // The same parameter order on every rank: a hash of the names, compared.
      std::string names;
      for (const auto& n : m->params().parameter_names()) names += n + ";";
      const auto order = static_cast<int64_t>(std::hash<std::string>{}(names) >> 1);
      EXPECT_EQ(runtime::allreduce_int(w, order, runtime::ReduceOp::Max), order);
      for (int k = 0; k < 2; ++k) {
        engine.begin_step();
        at::cross_entropy_loss(m->forward(data.x, true), data.y).backward();
        opt->step(m->params(), engine.finish_step(), 0.01);
        engine.average_buffers();
      }
      EXPECT_NO_THROW(runtime::verify_identical(w, m->params(), opt.get(), "steps after depth growth"));
      // The zero-started layers learn (their gradient reached every rank's replica).
      const std::map<std::string, std::string> learner = {
          {"stage2", "block4.conv2.bias"}, {"stage2@1", "block7.conv2.bias"}, {"blocks", "block3.fc2.bias"},
          {"fc1", "fc1_1.bias"},           {"conv1", "conv1_1.bias"}};
      EXPECT_GT(m->params().parameter(learner.at(place)).abs().max().item<double>(), 0.0);
    }
  }
}

TEST(GrowthMpi, DepthGrowthOnDivergedReplicasFailsNamingTheNewTensor) {
  auto& w = world();
  auto m = sprout::testing::trained_looking_model(sprout::testing::resnet_arch(), 3);
  runtime::SurgeryOptions so;
  so.context = "test depth";
  so.test_corrupt_rank = w.size() - 1;
  runtime::Surgery surgery(w, m->params(), nullptr, so);
  try {
    grow_depth(surgery, *m, "stage2", 1, "random", 1, 11);
    FAIL() << "the commit did not notice a diverged replica";
  } catch (const SurgeryError& e) {
    EXPECT_NE(std::string(e.what()).find("block4.bn1.weight differs between rank 0 and rank"), std::string::npos)
        << e.what();
  }
}

TEST(GrowthMpi, GradMaxUsesTheGlobalBatch) {
  // The fan-out GradMax picks from rank shares equals the one from the whole batch on one process.
  auto& w = world();
  const auto arch = sprout::testing::mlp_arch(false);
  const auto full = sprout::testing::random_batch(arch, 12, 5);
  auto dist = sprout::testing::trained_looking_model(arch, 6);
  const auto share = my_share(full);
  sprout::testing::grow_site(w, *dist, "fc2", 2, &share);
  auto self = w.split(w.rank(), 0);
  auto local = sprout::testing::trained_looking_model(arch, 6);
  sprout::testing::grow_site(*self, *local, "fc2", 2, &full);
  const auto a = dist->params().parameter("fc3.weight"), b = local->params().parameter("fc3.weight");
  EXPECT_LT(sprout::testing::max_rel_diff(a.detach().abs(), b.detach().abs()), 1e-4);  // signs are SVD's choice
  // ‖∂L/∂W_new‖ over the global batch = c·sqrt(σ1² + σ2²) of the global M.
  auto probe = sprout::testing::trained_looking_model(arch, 6);
  auto m_global = growth_matrix(*probe, probe->site("fc2"), share);
  w.allreduce(m_global, runtime::ReduceOp::Sum);
  const auto sv = at::linalg_svdvals(m_global);
  const double c = read_site(dist->params(), dist->site("fc2")).fan_out.narrow(0, 10, 2).norm(2, {1}).mean().item<double>();
  const double expected = c * sv.narrow(0, 0, 2).pow(2).sum().sqrt().item<double>();
  EXPECT_NEAR(new_fan_in_grad_norm(w, *dist, dist->site("fc2"), 10, share), expected, 1e-4 * expected);
}

}  // namespace
}  // namespace sprout::growth
