// Gradient reduce-scatter (optim.shard = gradients, ZeRO stage 2) end to end on the engine
// and the optimizer: stages 0, 1 and 2 train the same parameters bitwise, step for step,
// through a parameter growth (buckets and shards re-cut); each rank receives only its
// pieces of the gradients, bitwise the matching elements of the full reduction. A large
// tensor goes through the ring, small buckets through the communicator's allreduce.
// Run under mpiexec -n 2 and -n 3.
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "runtime/comm/fingerprint.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/optim/optimizer.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

ParamSet make_params() {
  torch::manual_seed(21);  // the same on every rank
  ParamSet p;
  p.add_parameter("a", torch::randn({300, 100}));  // 120 KB: a ring bucket of its own
  p.add_parameter("b", torch::randn({101}));
  p.add_parameter("c", torch::randn({50, 70}));
  p.add_parameter("d", torch::randn({7}));
  return p;
}

// Rank r, step s: Σ_i (r + 1 + s) · Σ (p_i ⊙ k_i)², k fixed per parameter shape.
torch::Tensor loss_of(const ParamSet& p, int s) {
  torch::Tensor total;
  for (size_t i = 0; i < p.num_parameters(); ++i) {
    const auto& t = p.parameter(i);
    auto k = torch::linspace(0.5, 1.5, t.numel()).view(t.sizes());
    auto l = (t * k).square().sum() * static_cast<double>(world().rank() + 1 + s);
    total = total.defined() ? total + l : l;
  }
  return total;
}

struct Run {
  std::vector<torch::Tensor> params;
  std::map<std::string, Optimizer::Slots> state;
};

Run train(int stage, bool overlap) {
  auto p = make_params();
  DataParallelOptions o{0.05, 0.05, overlap};
  o.scatter_gradients = stage == 2;
  DataParallel dp(world(), p, o);
  OptimizerOptions oo;
  oo.name = "adamw";
  oo.lr = 0.01;
  oo.weight_decay = 0.1;
  auto opt = make_optimizer(oo);
  if (stage == 1) opt->shard_state(world());
  if (stage == 2) opt->shard_state(world(), [&dp](const ParamSet&) { return dp.gradient_plan(); });
  for (int s = 0; s < 6; ++s) {
    if (s == 3) {  // growth, as surgery does it: new tensors, state resized, version bumped
      torch::NoGradGuard no_grad;
      p.set_parameter("c", resize_keep(p.parameter("c").detach(), {64, 70}, 0.25));
      opt->resize_state("c", {64, 70});
      p.bump_version();
      EXPECT_NO_THROW(verify_identical(world(), p, opt.get(), "after growth"));
    }
    dp.begin_step();
    loss_of(p, s).backward();
    const auto& grads = dp.finish_step();
    if (stage == 2) {
      const auto plan = dp.gradient_plan();
      int64_t held = 0;
      for (size_t i = 0; i < grads.size(); ++i) {
        EXPECT_EQ(grads[i].numel(), plan.piece(i).second) << "step " << s << " parameter " << i;
        held += grads[i].numel();
      }
      EXPECT_EQ(held, plan.owned_numel(world().rank()));
      EXPECT_LE(held, plan.total() / world().size() + 2 * static_cast<int64_t>(grads.size()));
      opt->step_on_pieces(p, grads, 0.01);
    } else {
      opt->step(p, grads, 0.01);
    }
  }
  Run r;
  for (const auto& t : p.parameters()) r.params.push_back(t.detach().clone());
  r.state = opt->full_state();
  return r;
}

TEST(ReduceScatter, StagesZeroOneTwoTrainTheSameParametersBitwise) {
  const auto base = train(0, true);
  for (auto [stage, overlap] : {std::pair{1, true}, std::pair{2, true}, std::pair{2, false}}) {
    const auto got = train(stage, overlap);
    for (size_t i = 0; i < base.params.size(); ++i) {
      EXPECT_TRUE(torch::equal(got.params[i], base.params[i])) << "stage " << stage << " overlap " << overlap
                                                               << " parameter " << i;
    }
    for (const auto& [name, slots] : base.state) {
      for (const auto& [slot, t] : slots) {
        EXPECT_TRUE(torch::equal(got.state.at(name).at(slot), t)) << "stage " << stage << " " << name << "." << slot;
      }
    }
  }
}

TEST(ReduceScatter, PiecesAreTheMatchingElementsOfTheFullReduction) {
  auto full_p = make_params(), piece_p = make_params();
  DataParallel full(world(), full_p, DataParallelOptions{0.05, 0.05, true});
  DataParallelOptions o{0.05, 0.05, true};
  o.scatter_gradients = true;
  DataParallel scattered(world(), piece_p, o);
  for (int s = 0; s < 2; ++s) {
    full.begin_step();
    loss_of(full_p, s).backward();
    const auto& whole = full.finish_step();
    scattered.begin_step();
    loss_of(piece_p, s).backward();
    const auto& pieces = scattered.finish_step();
    const auto plan = scattered.gradient_plan();
    for (size_t i = 0; i < whole.size(); ++i) {
      const auto [off, len] = plan.piece(i);
      EXPECT_TRUE(torch::equal(pieces[i], whole[i].reshape({-1}).narrow(0, off, len))) << "step " << s << " parameter " << i;
    }
  }
}

}  // namespace
}  // namespace sprout::runtime
