// Sharded optimizer state (optim.shard = state) against the unsharded optimizer on the same
// gradients: parameters bitwise equal step for step, the gathered state bitwise equal,
// surgery (resize) and restore (erase, whole tensors) on sharded state exact, each rank
// holding only its slice. Run under mpiexec -n 2 and -n 3: 65 elements cut unevenly.
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "runtime/comm/fingerprint.h"
#include "runtime/optim/optimizer.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

// 35 + 7 + 21 + 2 = 65 elements: uneven slices on 2 and on 3 ranks.
ParamSet make_params() {
  torch::manual_seed(11);  // the same on every rank
  ParamSet p;
  p.add_parameter("w1", torch::randn({7, 5}));
  p.add_parameter("b1", torch::randn({7}));
  p.add_parameter("w2", torch::randn({3, 7}));
  p.add_parameter("b2", torch::randn({2}));
  return p;
}

// Gradients of step `s`, equal on every rank (as after the engine's reduction).
std::vector<torch::Tensor> grads_at(const ParamSet& p, int s) {
  torch::manual_seed(100 + s);
  std::vector<torch::Tensor> g;
  for (const auto& t : p.parameters()) g.push_back(torch::randn(t.sizes()));
  return g;
}

OptimizerOptions options_for(const std::string& name) {
  OptimizerOptions o;
  o.name = name;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  return o;
}

void expect_params_equal(const ParamSet& a, const ParamSet& b, const std::string& what) {
  for (size_t i = 0; i < a.num_parameters(); ++i) {
    EXPECT_TRUE(torch::equal(a.parameter(i), b.parameter(i))) << what << ": " << a.parameter_name(i);
  }
}

void expect_state_equal(Optimizer& reference, Optimizer& sharded, const std::string& what) {
  const auto full = sharded.full_state();
  ASSERT_EQ(full.size(), reference.state().size()) << what;
  for (const auto& [name, slots] : reference.state()) {
    for (const auto& [slot, t] : slots) {
      const auto& got = full.at(name).at(slot);
      EXPECT_TRUE(got.sizes() == t.sizes() && torch::equal(got, t)) << what << ": " << name << "." << slot;
    }
  }
  EXPECT_EQ(reference.step_counts(), sharded.step_counts()) << what;
}

// Resizes a parameter the way surgery does: a new tensor, the shared region kept.
void grow(ParamSet& p, Optimizer& opt, const std::string& name, std::vector<int64_t> shape) {
  torch::NoGradGuard no_grad;
  p.set_parameter(name, resize_keep(p.parameter(name).detach(), shape, 0.5));
  opt.resize_state(name, shape);
}

class ShardedState : public ::testing::TestWithParam<std::string> {};

TEST_P(ShardedState, EqualsUnshardedStepForStepAndHoldsOnlyItsSlice) {
  auto ref_p = make_params(), sh_p = make_params();
  auto ref = make_optimizer(options_for(GetParam())), sh = make_optimizer(options_for(GetParam()));
  sh->shard_state(world());
  for (auto* o : {ref.get(), sh.get()}) o->set_lr_scale("w2", torch::linspace(0.5, 1.5, 21).view({3, 7}));
  for (int s = 0; s < 5; ++s) {
    const auto g = grads_at(ref_p, s);
    ref->step(ref_p, g, 0.01);
    sh->step(sh_p, g, 0.01);
    expect_params_equal(ref_p, sh_p, "step " + std::to_string(s));
  }
  expect_state_equal(*ref, *sh, "after 5 steps");
  ASSERT_TRUE(sh->state_is_sharded());
  // This rank's slots hold exactly its share of the 65 elements.
  const int n = world().size(), r = world().rank();
  const int64_t mine = 65 * (r + 1) / n - 65 * r / n;
  for (const auto& slot : sh->slot_names()) {
    int64_t held = 0;
    for (const auto& [name, slots] : sh->state()) held += slots.at(slot).numel();
    EXPECT_EQ(held, mine) << slot;
  }
  const int64_t lr_scale_bytes = 21 * 4;
  EXPECT_EQ(sh->state_bytes(), static_cast<int64_t>(sh->slot_names().size()) * mine * 4 + lr_scale_bytes);
  // Replicas agree, and the fingerprint check accepts sharded state.
  EXPECT_NO_THROW(verify_identical(world(), sh_p, sh.get(), "sharded state"));
}

TEST_P(ShardedState, GrowthKeepsEveryOldEntryAndReCutsTheShards) {
  auto ref_p = make_params(), sh_p = make_params();
  auto ref = make_optimizer(options_for(GetParam())), sh = make_optimizer(options_for(GetParam()));
  sh->shard_state(world());
  for (int s = 0; s < 3; ++s) {
    const auto g = grads_at(ref_p, s);
    ref->step(ref_p, g, 0.01);
    sh->step(sh_p, g, 0.01);
  }
  const auto before = sh->full_state();
  // Surgery on every rank alike: fc1 grows 7 -> 10 rows, b1 7 -> 10, w2 7 -> 10 columns.
  for (auto [p, o] : {std::pair{&ref_p, ref.get()}, std::pair{&sh_p, sh.get()}}) {
    grow(*p, *o, "w1", {10, 5});
    grow(*p, *o, "b1", {10});
    grow(*p, *o, "w2", {3, 10});
    p->bump_version();
  }
  expect_state_equal(*ref, *sh, "right after growth");
  const auto after = sh->full_state();
  for (const auto& [name, slots] : before) {
    for (const auto& [slot, old] : slots) {
      auto rest = after.at(name).at(slot).clone();
      auto region = rest;
      for (int64_t d = 0; d < old.dim(); ++d) region = region.narrow(d, 0, old.size(d));
      EXPECT_TRUE(torch::equal(region, old)) << "old entries of " << name << "." << slot;
      region.zero_();
      EXPECT_TRUE(rest.eq(0).all().item<bool>()) << "new entries of " << name << "." << slot << " not 0";
    }
  }
  EXPECT_NO_THROW(verify_identical(world(), sh_p, sh.get(), "after growth"));
  for (int s = 3; s < 6; ++s) {  // 10·5 + 10 + 30 + 2 = 92 elements now, cut anew
    const auto g = grads_at(ref_p, s);
    ref->step(ref_p, g, 0.01);
    sh->step(sh_p, g, 0.01);
    expect_params_equal(ref_p, sh_p, "after growth, step " + std::to_string(s));
  }
  EXPECT_TRUE(sh->state_is_sharded());
  EXPECT_EQ(sh->plan().total(), 92);
  expect_state_equal(*ref, *sh, "after growth and 3 steps");
}

TEST_P(ShardedState, RestoresWholeTensorsExactly) {
  // A checkpoint restore installs whole tensors by name (launch/checkpoint/run_state.cpp).
  auto ref_p = make_params(), sh_p = make_params();
  auto ref = make_optimizer(options_for(GetParam())), sh = make_optimizer(options_for(GetParam()));
  sh->shard_state(world());
  for (int s = 0; s < 2; ++s) {
    ref->step(ref_p, grads_at(ref_p, s), 0.01);
    sh->step(sh_p, grads_at(sh_p, 100 + s), 0.01);  // other history: restore must replace it
  }
  for (size_t i = 0; i < ref_p.num_parameters(); ++i) {
    const auto& name = ref_p.parameter_name(i);
    sh_p.set_parameter(name, ref_p.parameter(i).detach().clone());
    sh->erase_state(name);
    for (const auto& [slot, t] : ref->state().at(name)) sh->slots(name)[slot] = t.clone();
    sh->step_count(name) = ref->step_counts().at(name);
  }
  EXPECT_FALSE(sh->state_is_sharded());
  for (int s = 2; s < 5; ++s) {
    const auto g = grads_at(ref_p, s);
    ref->step(ref_p, g, 0.01);
    sh->step(sh_p, g, 0.01);
    expect_params_equal(ref_p, sh_p, "after restore, step " + std::to_string(s));
  }
  expect_state_equal(*ref, *sh, "after restore and 3 steps");
}

INSTANTIATE_TEST_SUITE_P(Optimizers, ShardedState, ::testing::Values("sgd", "adamw"));

}  // namespace
}  // namespace sprout::runtime
