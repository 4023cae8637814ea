// Slimmable training under MPI: every sampled width's gradient lands in the step's one
// reduction (collectives counted), the reduced gradient is the sum over widths of the
// per-width gradients averaged over ranks, and ranks stay bitwise identical through the
// supernet and gate stages. Run under mpiexec -n 2 and -n 3.
#include <gtest/gtest.h>

#include "data/sampler.h"
#include "launch/slimmable/step.h"
#include "launch/train/trainer.h"
#include "mpi_test_env.h"
#include "runtime/comm/fingerprint.h"

namespace sprout::launch {
namespace {

using sprout::testing::world;

// Forwards every collective to `inner`, counting them — also those of communicators split
// from it (the data-parallel engine reduces its buckets on a split of its own).
class CountingCommunicator final : public runtime::Communicator {
 public:
  struct Counts {
    int64_t allreduces = 0, others = 0;
  };
  explicit CountingCommunicator(runtime::Communicator& inner, std::shared_ptr<Counts> counts = nullptr,
                                std::unique_ptr<runtime::Communicator> owned = nullptr)
      : inner_(inner), owned_(std::move(owned)), counts_(counts ? counts : std::make_shared<Counts>()) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  std::string backend() const override { return inner_.backend(); }
  void allreduce(torch::Tensor& t, runtime::ReduceOp op) override {
    ++counts_->allreduces;
    inner_.allreduce(t, op);
  }
  std::shared_ptr<runtime::Work> allreduce_async(torch::Tensor t, runtime::ReduceOp op) override {
    ++counts_->allreduces;
    return inner_.allreduce_async(t, op);
  }
  void broadcast(torch::Tensor& t, int root) override {
    ++counts_->others;
    inner_.broadcast(t, root);
  }
  torch::Tensor allgather(const torch::Tensor& t) override {
    ++counts_->others;
    return inner_.allgather(t);
  }
  void barrier() override {
    ++counts_->others;
    inner_.barrier();
  }
  std::unique_ptr<runtime::Communicator> split(int color, int key) override {
    auto child = inner_.split(color, key);
    auto& ref = *child;
    return std::make_unique<CountingCommunicator>(ref, counts_, std::move(child));
  }
  [[noreturn]] void abort(int code) override {
    inner_.abort(code);
    std::abort();  // not reached
  }

  int64_t allreduces() const { return counts_->allreduces; }
  int64_t others() const { return counts_->others; }

 private:
  runtime::Communicator& inner_;
  std::unique_ptr<runtime::Communicator> owned_;
  std::shared_ptr<Counts> counts_;
};

TrainConfig slim_config(const std::string& kind, int64_t steps, int64_t gate_steps) {
  auto o = Options::parse(train_option_table(), {});
  o.set("train.mode", "slimmable");
  auto c = read_train_config(o);
  c.data.name = "synthetic";
  c.data.synthetic_train = 512;
  c.data.synthetic_test = 128;
  c.model.kind = kind;
  c.model.set_ints("widths", {24, 16});
  c.model.set_flag("batch_norm", true);
  if (kind == "cnn") {
    c.model.set_ints("conv", {8, 8});
    c.model.set_ints("widths", {16});
  }
  c.train.batch = 8;
  c.train.steps = steps;
  c.train.seed = 5;
  c.slim.gate_steps = gate_steps;
  c.log.progress = "none";
  c.runtime.threads = 1;
  return c;
}

TEST(Slimmable, SandwichStepReducesOnceLikeAPlainStep) {
  CountingCommunicator counting(world());
  runtime::RuntimeContext ctx{&counting, 0, 1};
  auto cfg = slim_config("mlp", 4, 0);
  Trainer slim(ctx, cfg);
  slim.prepare();
  slim.train_step();  // first step: bucket layout built
  const int64_t before = counting.allreduces();
  slim.train_step();
  const int64_t slim_collectives = counting.allreduces() - before;
  const auto buckets = static_cast<int64_t>(slim.engine().layout().buckets().size());
  // One allreduce per gradient bucket (all four widths' gradients in it) + one for the
  // batch-norm statistics, and nothing else.
  EXPECT_EQ(slim_collectives, buckets + 1);
  EXPECT_EQ(counting.others(), 0);

  auto plain_cfg = cfg;
  plain_cfg.slim.enabled = false;
  CountingCommunicator plain_count(world());
  Trainer plain(runtime::RuntimeContext{&plain_count, 0, 1}, plain_cfg);
  plain.prepare();
  plain.train_step();
  const int64_t plain_before = plain_count.allreduces();
  plain.train_step();
  EXPECT_EQ(plain_count.allreduces() - plain_before, slim_collectives);
}

// The reduced gradient of one sandwich step equals Σ over the sampled widths of each
// width's own gradient (separate backward passes), averaged over ranks.
TEST(Slimmable, ReducedGradientIsTheSumOverWidthsAveragedOverRanks) {
  auto& w = world();
  auto cfg = slim_config("mlp", 1, 0);
  cfg.slim.distill = "none";  // labels for every width: a closed-form reference
  cfg.optim.momentum = 0;
  cfg.optim.lr = cfg.schedule.base_lr = 0.1;
  cfg.schedule.name = "constant";
  Trainer t(runtime::RuntimeContext{&w, 0, 1}, cfg);
  t.prepare();

  // The reference: same initialisation, same batch, same widths.
  auto ref_model = growth::build_model(t.model().arch(), cfg.train.seed);
  growth::SlimmableNet ref(*ref_model, cfg.slim.spec, cfg.train.seed);
  const auto& data = t.data();
  data::DistributedSampler sampler(data.train.size(), w.rank(), w.size(), cfg.train.batch, cfg.train.seed);
  auto idx = sampler.next();
  auto x = data::to_input(data.train.gather(idx), data.norm);
  auto y = data.train.labels.index_select(0, idx);
  const auto widths = SlimmableStep::sandwich(ref.num_ratios(), cfg.slim.random, cfg.train.seed, 0);
  ASSERT_EQ(widths.size(), 4u);
  auto& rp = ref_model->params();
  std::vector<torch::Tensor> sum(rp.num_parameters());
  for (size_t width : widths) {
    rp.zero_grad();
    at::cross_entropy_loss(ref.forward(x, width, true), y).backward();
    for (size_t i = 0; i < rp.num_parameters(); ++i) {
      const auto& g = rp.parameter(i).grad();
      if (!g.defined()) continue;
      sum[i] = sum[i].defined() ? sum[i] + g : g.clone();
    }
  }
  std::vector<torch::Tensor> before;
  for (const auto& p : t.model().params().parameters()) before.push_back(p.detach().clone());
  t.run();
  for (size_t i = 0; i < rp.num_parameters(); ++i) {
    const auto& name = rp.parameter_name(i);
    if (name.rfind("gate.head", 0) == 0) {
      EXPECT_TRUE(t.model().params().parameter(i).equal(before[i])) << name << " moved in the supernet stage";
      continue;
    }
    ASSERT_TRUE(sum[i].defined()) << name;
    auto expected = sum[i].clone();
    w.allreduce(expected, runtime::ReduceOp::Avg);
    auto got = (before[i] - t.model().params().parameter(i).detach()) / 0.1;
    EXPECT_TRUE(got.allclose(expected, 1e-4, 1e-6))
        << name << " max diff " << (got - expected).abs().max().item<double>();
  }
}

void expect_identical_through_both_stages(const std::string& kind, const std::string& distill) {
  auto& w = world();
  auto cfg = slim_config(kind, 6, 4);
  cfg.slim.distill = distill;
  cfg.slim.ensemble = distill == "bootstrap";
  Trainer t(runtime::RuntimeContext{&w, 0, 1}, cfg);
  t.prepare();
  EXPECT_EQ(t.total_steps(), 10);
  std::vector<torch::Tensor> supernet;  // after the supernet stage
  for (int s = 0; s < 6; ++s) t.train_step();
  const auto& p = t.model().params();
  for (const auto& x : p.parameters()) supernet.push_back(x.detach().clone());
  auto stats = p.buffer(kind == "cnn" ? "bn_conv1.running_mean_r0p25" : "bn_fc1.running_mean_r0p25").clone();
  EXPECT_GT(stats.abs().max().item<double>(), 0) << "ratio 0.25 statistics never updated";
  for (int s = 0; s < 4; ++s) t.train_step();
  EXPECT_NO_THROW(runtime::verify_identical(w, p, &t.optimizer(), kind + " " + distill));
  // Gate stage: only the width head moved; the frozen supernet (and its statistics) did not.
  for (size_t i = 0; i < p.num_parameters(); ++i) {
    const bool head = p.parameter_name(i).rfind("gate.head", 0) == 0;
    EXPECT_EQ(p.parameter(i).equal(supernet[i]), !head) << p.parameter_name(i);
  }
  EXPECT_TRUE(stats.equal(p.buffer(kind == "cnn" ? "bn_conv1.running_mean_r0p25" : "bn_fc1.running_mean_r0p25")));
  EXPECT_EQ(p.buffer("gate.trained_steps").item<int64_t>(), 4);
}

TEST(Slimmable, MlpRanksIdenticalWithEnsembleBootstrap) { expect_identical_through_both_stages("mlp", "bootstrap"); }
TEST(Slimmable, CnnRanksIdenticalWithInplaceDistillation) { expect_identical_through_both_stages("cnn", "inplace"); }

// The teacher follows the EMA recursion T ← d_n·T + (1 − d_n)·S after the n-th step, from
// a copy of the model, with d_n = min(0.997, (1+n)/(10+n)) (warm-up) or 0.997.
void expect_teacher_is_the_ema(bool warmup) {
  auto& w = world();
  auto cfg = slim_config("mlp", 6, 0);
  cfg.slim.ema_warmup = warmup;
  Trainer t(runtime::RuntimeContext{&w, 0, 1}, cfg);
  t.prepare();
  auto* slim_step = t.slimmable();
  ASSERT_NE(slim_step, nullptr);
  const auto& s = t.model().params().parameter("fc1.weight");
  auto expected = s.detach().clone();  // the copy made at the first step
  auto init = expected.clone();
  for (int n = 1; n <= 6; ++n) {
    t.train_step();
    const double d = warmup ? std::min(0.997, (1.0 + n) / (10.0 + n)) : 0.997;
    expected = d * expected + (1 - d) * s.detach();
  }
  const auto* teacher = slim_step->teacher();
  ASSERT_NE(teacher, nullptr);
  const auto& e = teacher->parameter("fc1.weight");
  EXPECT_TRUE(e.allclose(expected, 1e-5, 1e-7)) << "max diff " << (e - expected).abs().max().item<double>();
  EXPECT_GT((s - e).abs().max().item<double>(), 1e-5);     // not the model...
  EXPECT_GT((init - e).abs().max().item<double>(), 1e-5);  // ...nor the initialisation
  EXPECT_NO_THROW(runtime::verify_identical(w, *teacher, nullptr, "teacher"));
}

TEST(Slimmable, EmaTeacherWithWarmup) { expect_teacher_is_the_ema(true); }
TEST(Slimmable, EmaTeacherWithoutWarmup) { expect_teacher_is_the_ema(false); }

TEST(Slimmable, SandwichDrawsAreTheSameOnEveryRank) {
  auto& w = world();
  std::vector<int64_t> draws;
  bool both = false;
  for (int64_t step = 0; step < 50; ++step) {
    const auto s = SlimmableStep::sandwich(4, 2, 9, step);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s.front(), 3u);
    EXPECT_EQ(s.back(), 0u);
    for (size_t j = 1; j < 3; ++j) {
      EXPECT_TRUE(s[j] == 1 || s[j] == 2);
      draws.push_back(static_cast<int64_t>(s[j]));
    }
    both = both || s[1] != s[2];
  }
  EXPECT_TRUE(both);
  EXPECT_EQ(SlimmableStep::sandwich(2, 2, 9, 0), (std::vector<size_t>{1, 0}));  // no interior ratio
  auto mine = torch::tensor(draws, torch::kInt64);
  auto all = w.allgather(mine);
  for (int r = 1; r < w.size(); ++r) EXPECT_TRUE(all[r].equal(all[0])) << "rank " << r;
}

}  // namespace
}  // namespace sprout::launch
