// The overlapped engine inside the real training loop: overlap on equals overlap off bit
// for bit, equals one process on the concatenated batch (to 1e-5) with ring-sized buckets,
// also across a mid-training width change (run under mpiexec -n 2 and -n 3).
#include <gtest/gtest.h>

#include <set>

#include "launch/train/trainer.h"
#include "mpi_test_env.h"
#include "runtime/comm/fingerprint.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {
namespace {

using sprout::testing::world;

TrainConfig config(const std::string& kind, bool overlap) {
  auto c = read_train_config(Options::parse(train_option_table(), {}));
  c.data.name = "synthetic";
  c.data.synthetic_train = 512;
  c.data.synthetic_test = 64;
  c.model.kind = kind;
  c.model.set_ints("widths", {96, 48});  // fc1.weight: 784·96·4 B = 301 KB, a ring-sized bucket
  if (kind == "cnn") {
    c.model.set_ints("conv", {4, 8});
    c.model.set_ints("widths", {64});
    c.model.set_flag("batch_norm", true);
  }
  c.train.batch = 8;
  c.train.steps = 6;
  c.train.seed = 5;
  c.optim.lr = c.schedule.base_lr = 0.05;
  c.log.progress = "none";
  c.runtime.threads = 1;
  c.runtime.bucket_mb = 0.01;  // several buckets, some started during backward
  c.engine.overlap = overlap;
  return c;
}

std::unique_ptr<Trainer> train(runtime::Communicator& comm, const TrainConfig& cfg) {
  auto t = std::make_unique<Trainer>(runtime::RuntimeContext{&comm, 0, 1}, cfg);
  t->prepare();
  t->run();
  return t;
}

TEST(Engine, OverlapOnEqualsOverlapOffBitwise) {
  for (const std::string kind : {"mlp", "cnn"}) {
    auto on = train(world(), config(kind, true));
    auto off = train(world(), config(kind, false));
    const auto& a = on->model().params();
    const auto& b = off->model().params();
    for (size_t i = 0; i < a.num_parameters(); ++i) {
      EXPECT_TRUE(a.parameter(i).equal(b.parameter(i))) << kind << " " << a.parameter_name(i);
    }
    EXPECT_NO_THROW(runtime::verify_identical(world(), a, &on->optimizer(), kind + " overlap on"));
    if (world().size() > 1) {
      EXPECT_GE(on->engine().layout().buckets().size(), 3u) << kind;
      EXPECT_GE(on->engine().buckets_started_early(), 1u) << kind;
      EXPECT_EQ(off->engine().buckets_started_early(), 0u) << kind;
    }
  }
}

// Site fc1 grows by `units` (zero-initialised), as growth surgery does it.
void widen_fc1(Trainer& t, int64_t units) {
  auto& p = t.model().params();
  const int64_t h = p.parameter("fc1.weight").size(0) + units;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> changes = {
      {"fc1.weight", {h, p.parameter("fc1.weight").size(1)}},
      {"fc1.bias", {h}},
      {"fc2.weight", {p.parameter("fc2.weight").size(0), h}}};
  for (const auto& [name, shape] : changes) {
    // New fc1 rows get small values so the new units carry gradient.
    auto grown = runtime::resize_keep(p.parameter(name).detach(), shape, 0.01);
    p.set_parameter(name, grown);
    t.optimizer().resize_state(name, shape);
  }
}

TEST(Engine, MatchesSingleProcessAcrossAWidthChange) {
  auto& w = world();
  auto cfg = config("mlp", true);
  Trainer dp(runtime::RuntimeContext{&w, 0, 1}, cfg);
  dp.prepare();
  dp.engine().broadcast_state(0);
  auto self = w.split(w.rank(), 0);
  auto ref_cfg = cfg;
  ref_cfg.train.batch = cfg.train.batch * w.size();
  Trainer ref(runtime::RuntimeContext{self.get(), 0, 1}, ref_cfg);
  ref.prepare();
  for (int s = 0; s < 3; ++s) {
    dp.train_step();
    ref.train_step();
  }
  widen_fc1(dp, 40);
  widen_fc1(ref, 40);
  for (int s = 0; s < 3; ++s) {
    dp.train_step();
    ref.train_step();
  }
  const auto& a = dp.model().params();
  const auto& b = ref.model().params();
  ASSERT_EQ(a.parameter("fc1.weight").size(0), 136);
  for (size_t i = 0; i < a.num_parameters(); ++i) {
    const double diff = (a.parameter(i) - b.parameter(i)).abs().max().item<double>();
    EXPECT_LT(diff, 1e-5) << a.parameter_name(i);
  }
  // The grown rows moved (their gradients were reduced, not zero-filled).
  EXPECT_GT((a.parameter("fc1.weight").narrow(0, 96, 40) - 0.01).abs().max().item<double>(), 1e-6);
  EXPECT_NO_THROW(runtime::verify_identical(w, a, &dp.optimizer(), "after growth"));
  EXPECT_EQ(dp.engine().rebuilds(), 2);
  std::multiset<size_t> seen;
  for (const auto& bucket : dp.engine().layout().buckets()) {
    for (const auto& slot : bucket.slots) {
      seen.insert(slot.param);
      EXPECT_EQ(slot.numel, a.parameter(slot.param).numel());
    }
  }
  EXPECT_EQ(seen.size(), a.num_parameters());
  EXPECT_EQ(std::set<size_t>(seen.begin(), seen.end()).size(), a.num_parameters());
}

}  // namespace
}  // namespace sprout::launch
