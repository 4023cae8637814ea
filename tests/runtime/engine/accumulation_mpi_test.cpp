// Gradient accumulation (K micro-batches, one reduction) and global-norm clipping on a
// small network with a closed data layout: rank r of N owns rows [r·4B, (r+1)·4B) of a
// dataset of N·4B rows. One step on 4B rows per rank and four micro-batches of B must give
// the same averaged gradient; clipping after the reduction must match clipping the
// single-process gradient of all N·4B rows. Run under mpiexec -n 2 and -n 3.
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/error.h"
#include "runtime/optim/grad_clip.h"

namespace sprout::runtime {
namespace {

using sprout::testing::world;

constexpr int64_t kMicro = 5;  // B
constexpr int64_t kSteps = 4;  // K

ParamSet make_params() {
  torch::manual_seed(3);
  ParamSet p;
  p.add_parameter("w", torch::randn({8, 6}));
  p.add_parameter("b", torch::randn({8}));
  p.add_parameter("v", torch::randn({1, 8}));
  return p;
}

// The dataset, equal on every rank.
std::pair<torch::Tensor, torch::Tensor> dataset(int64_t rows) {
  torch::manual_seed(5);
  return {torch::randn({rows, 6}), torch::randn({rows, 1})};
}

torch::Tensor loss_on(const ParamSet& p, const torch::Tensor& x, const torch::Tensor& y) {
  auto h = torch::tanh(torch::addmm(p.parameter("b"), x, p.parameter("w").t()));
  return torch::mse_loss(torch::mm(h, p.parameter("v").t()), y);
}

// The averaged gradient of one step with K micro-batches of B rows each on this rank.
std::vector<torch::Tensor> accumulated(bool overlap, int64_t k_micro) {
  const int n = world().size(), r = world().rank();
  const auto [x, y] = dataset(n * kMicro * kSteps);
  auto p = make_params();
  DataParallel dp(world(), p, DataParallelOptions{0.0001, 0.0001, overlap});  // a bucket per tensor
  const int64_t rows = kMicro * kSteps / k_micro;
  dp.begin_step(k_micro);
  for (int64_t k = 0; k < k_micro; ++k) {
    const int64_t first = r * kMicro * kSteps + k * rows;
    dp.begin_micro_batch();
    (loss_on(p, x.narrow(0, first, rows), y.narrow(0, first, rows)) / static_cast<double>(k_micro)).backward();
  }
  std::vector<torch::Tensor> out;
  for (const auto& g : dp.finish_step()) out.push_back(g.clone());
  return out;
}

TEST(Accumulation, FourMicroBatchesEqualOneBatchFourTimesLarger) {
  const auto one = accumulated(true, 1);
  for (bool overlap : {true, false}) {
    const auto four = accumulated(overlap, kSteps);
    for (size_t i = 0; i < one.size(); ++i) {
      EXPECT_TRUE(four[i].allclose(one[i], 1e-5, 1e-6)) << "parameter " << i << " overlap " << overlap << ": max diff "
                                                        << (four[i] - one[i]).abs().max().item<double>();
    }
  }
  // Overlapped hooks hand the reducer .grad + the last gradient: the same bits as reducing .grad.
  const auto hooked = accumulated(true, kSteps), copied = accumulated(false, kSteps);
  for (size_t i = 0; i < hooked.size(); ++i) EXPECT_TRUE(torch::equal(hooked[i], copied[i])) << "parameter " << i;
}

TEST(Accumulation, MicroBatchesAreCountedAndHooksIdleUntilTheLast) {
  auto p = make_params();
  const auto [x, y] = dataset(8);
  DataParallel dp(world(), p, DataParallelOptions{0.0001, 0.0001, true});
  dp.begin_step(2);
  dp.begin_micro_batch();
  loss_on(p, x, y).backward();  // a hook that fired here would see a second gradient below and throw
  EXPECT_THROW(dp.finish_step(), Error);  // one micro-batch of two
  dp.begin_micro_batch();
  loss_on(p, x, y).backward();
  const auto& g = dp.finish_step();
  if (world().size() > 1) {
    EXPECT_EQ(dp.buckets_started_early(), dp.layout().buckets().size());
  }
  auto q = make_params();
  (loss_on(q, x, y) * 2).backward();  // the sum of the two micro-batches
  for (size_t i = 0; i < g.size(); ++i) EXPECT_TRUE(g[i].allclose(q.parameter(i).grad(), 1e-6, 1e-7)) << i;
  dp.begin_step(1);
  dp.begin_micro_batch();
  EXPECT_THROW(dp.begin_micro_batch(), Error);  // a second of one
  loss_on(p, x, y).backward();
  dp.finish_step();
}

// Single-process reference: the gradient of the mean loss over all rows (each rank's share
// has the same number of rows, so the mean of the ranks' means is the mean over all rows).
std::vector<torch::Tensor> reference_gradient() {
  const int n = world().size();
  const auto [x, y] = dataset(n * kMicro * kSteps);
  auto p = make_params();
  torch::Tensor total;
  for (int r = 0; r < n; ++r) {
    auto l = loss_on(p, x.narrow(0, r * kMicro * kSteps, kMicro * kSteps), y.narrow(0, r * kMicro * kSteps, kMicro * kSteps));
    total = r == 0 ? l : total + l;
  }
  (total / static_cast<double>(n)).backward();
  std::vector<torch::Tensor> out;
  for (const auto& t : p.parameters()) out.push_back(t.grad().clone());
  return out;
}

TEST(Clipping, MatchesTheSingleProcessReference) {
  auto expected = reference_gradient();
  auto got = accumulated(true, 2);
  std::vector<torch::Tensor> norms;
  for (const auto& g : expected) norms.push_back(g.norm());
  const double full_norm = torch::stack(norms).norm().item<double>();
  ASSERT_GT(full_norm, 0.1);
  const double max_norm = full_norm / 3;  // clips
  const double ref_norm = clip_grad_norm(expected, max_norm);
  const double norm = clip_grad_norm(got, max_norm);
  EXPECT_NEAR(norm, ref_norm, 1e-6 * ref_norm);
  EXPECT_NEAR(ref_norm, full_norm, 1e-12);
  std::vector<torch::Tensor> clipped_norms;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i].allclose(expected[i], 1e-5, 1e-6)) << "parameter " << i;
    clipped_norms.push_back(got[i].norm());
  }
  EXPECT_NEAR(torch::stack(clipped_norms).norm().item<double>(), max_norm, 1e-5 * max_norm);
  // A bound above the norm changes nothing, bit for bit.
  auto unclipped = accumulated(true, 2);
  std::vector<torch::Tensor> before;
  for (const auto& g : unclipped) before.push_back(g.clone());
  clip_grad_norm(unclipped, full_norm * 2);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], unclipped[i])) << "parameter " << i;
  EXPECT_THROW(clip_grad_norm(unclipped, 0.0), ConfigError);
  EXPECT_THROW(clip_grad_norm(unclipped, -1.0), ConfigError);
}

}  // namespace
}  // namespace sprout::runtime
