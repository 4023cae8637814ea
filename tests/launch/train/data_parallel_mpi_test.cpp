// Data-parallel training: replicas stay bitwise identical and equal a single process
// that sees the concatenated batch (run under mpiexec -n 2 and -n 3).
#include <gtest/gtest.h>

#include "launch/train/trainer.h"
#include "mpi_test_env.h"
#include "runtime/error.h"
#include "runtime/comm/fingerprint.h"

namespace sprout::launch {
namespace {

using sprout::testing::world;

TrainConfig small_config(const std::string& kind, int64_t batch, int64_t steps) {
  auto c = read_train_config(Options::parse(train_option_table(), {}));
  c.data.name = "synthetic";
  c.data.synthetic_train = 512;
  c.data.synthetic_test = 128;
  c.model.kind = kind;
  c.model.set_ints("widths", {32, 16});
  if (kind == "cnn") {
    c.model.set_ints("conv", {4, 8});
    c.model.set_ints("widths", {16});
    c.model.set_flag("batch_norm", true);
  }
  c.train.batch = batch;
  c.train.steps = steps;
  c.train.seed = 3;
  c.optim.lr = c.schedule.base_lr = 0.05;
  c.log.progress = "none";
  c.runtime.threads = 1;
  return c;
}

void expect_matches_single_process(const std::string& kind, const std::string& optimizer) {
  auto& w = world();
  auto cfg = small_config(kind, 8, 12);
  cfg.optim.name = optimizer;
  Trainer dp(runtime::RuntimeContext{&w, 0, 1}, cfg);
  dp.prepare();
  dp.run();
  // Every parameter, buffer and optimizer slot is bit-equal across ranks.
  EXPECT_NO_THROW(runtime::verify_identical(w, dp.model().params(), &dp.optimizer(), "after training"));

  // One process, batch 8·W: the sampler hands it exactly the ranks' batches concatenated.
  auto self = w.split(w.rank(), 0);
  auto ref_cfg = cfg;
  ref_cfg.train.batch = 8 * w.size();
  Trainer ref(runtime::RuntimeContext{self.get(), 0, 1}, ref_cfg);
  ref.prepare();
  ref.run();
  const auto& a = dp.model().params();
  const auto& b = ref.model().params();
  for (size_t i = 0; i < a.num_parameters(); ++i) {
    const double diff = (a.parameter(i) - b.parameter(i)).abs().max().item<double>();
    EXPECT_LT(diff, 1e-5) << kind << "/" << optimizer << " " << a.parameter_name(i);
  }
  // Training did something (the comparison is not between two initialisations).
  auto fresh = growth::build_model(dp.model().arch(), cfg.train.seed);
  EXPECT_GT((a.parameter(0) - fresh->params().parameter(0)).abs().max().item<double>(), 1e-4);
}

TEST(DataParallel, MlpSgdEqualsSingleProcessOnConcatenatedBatch) { expect_matches_single_process("mlp", "sgd"); }
TEST(DataParallel, MlpAdamWEqualsSingleProcessOnConcatenatedBatch) { expect_matches_single_process("mlp", "adamw"); }
TEST(DataParallel, CnnWithBatchNormStaysIdentical) {
  auto& w = world();
  auto cfg = small_config("cnn", 8, 6);
  Trainer dp(runtime::RuntimeContext{&w, 0, 1}, cfg);
  dp.prepare();
  dp.run();
  EXPECT_NO_THROW(runtime::verify_identical(w, dp.model().params(), &dp.optimizer(), "cnn"));
}

TEST(DataParallel, SmallBucketsGiveTheSameResultAsOneBucket) {
  auto& w = world();
  auto cfg = small_config("mlp", 8, 5);
  cfg.runtime.bucket_mb = 0.001;  // one bucket per tensor
  Trainer many(runtime::RuntimeContext{&w, 0, 1}, cfg);
  many.prepare();
  many.run();
  EXPECT_GE(many.engine().layout().buckets().size(), 4u);
  cfg.runtime.bucket_mb = 100;
  Trainer one(runtime::RuntimeContext{&w, 0, 1}, cfg);
  one.prepare();
  one.run();
  EXPECT_LE(one.engine().layout().buckets().size(), 2u);  // first bucket is capped at 1 MiB
  // Two ranks: a + b is exact whatever the bucketing, so results are bit-equal. With more
  // ranks MPI picks its reduction order by message size, so only rounding may differ.
  for (size_t i = 0; i < many.model().params().num_parameters(); ++i) {
    const auto& a = many.model().params().parameter(i);
    const auto& b = one.model().params().parameter(i);
    if (w.size() == 2) EXPECT_TRUE(a.equal(b)) << many.model().params().parameter_name(i);
    else EXPECT_TRUE(a.allclose(b, 1e-5, 1e-6)) << many.model().params().parameter_name(i);
  }
}

TEST(Fingerprint, CorruptedRankIsNamed) {
  auto& w = world();
  auto cfg = small_config("mlp", 8, 2);
  Trainer dp(runtime::RuntimeContext{&w, 0, 1}, cfg);
  dp.prepare();
  dp.run();
  if (w.rank() == w.size() - 1) {
    torch::NoGradGuard g;
    dp.model().params().parameter("fc2.bias")[3].add_(1e-6);
  }
  try {
    runtime::verify_identical(w, dp.model().params(), &dp.optimizer(), "test");
    ADD_FAILURE() << "corruption not detected";
  } catch (const SurgeryError& e) {
    EXPECT_NE(std::string(e.what()).find("fc2.bias differs between rank 0 and rank " + std::to_string(w.size() - 1)),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sprout::launch
