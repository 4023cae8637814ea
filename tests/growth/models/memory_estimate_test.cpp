// The memory estimate against the models it describes: parameter and buffer counts equal
// those of the built model, activations follow the closed form, and what cannot fit is
// refused with one line naming the options.
#include "growth/models/memory_estimate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "growth/models/model.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

ArchSpec mlp(std::vector<int64_t> widths, bool bn = false) {
  ArchSpec s;
  s.set_ints("widths", std::move(widths));
  s.set_flag("batch_norm", bn);
  return s;
}

ArchSpec cnn(std::vector<int64_t> conv, std::vector<int64_t> widths, bool bn = false) {
  ArchSpec s;
  s.kind = "cnn";
  s.set_ints("conv", std::move(conv));
  s.set_ints("widths", std::move(widths));
  s.set_flag("batch_norm", bn);
  return s;
}

double numel(const std::vector<torch::Tensor>& tensors) {
  double n = 0;
  for (const auto& t : tensors) n += static_cast<double>(t.numel());
  return n;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(MemoryEstimate, ParametersAndBuffersMatchTheBuiltModel) {
  for (const auto& spec : {mlp({64, 32}), mlp({7}, true), cnn({8, 16}, {32}), cnn({3, 5, 4}, {9, 6}, true)}) {
    const auto model = build_model(spec, 1);
    const auto e = estimate_training_memory(spec, 64, 1);
    EXPECT_EQ(e.parameters, numel(model->params().parameters())) << spec.describe();
    EXPECT_EQ(e.buffers, numel(model->params().buffers())) << spec.describe();
    // Sites in the model's order and widths, without building it.
    std::vector<std::pair<std::string, int64_t>> sites;
    for (const auto& s : model->sites()) sites.emplace_back(s.name, s.width);
    EXPECT_EQ(site_widths(spec), sites) << spec.describe();
  }
}

TEST(MemoryEstimate, ClosedFormOfSmallMlpAndCnn) {
  // MLP 784-64-32-10: weights and biases; activations: the input, then 3 per unit.
  const auto m = estimate_training_memory(mlp({64, 32}), 100, 2);
  EXPECT_EQ(m.parameters, 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10);
  EXPECT_EQ(m.activations_per_example, 784 + 3 * (64 + 32 + 10));
  // float32: values + gradients + reduction buffer + 2 AdamW slots, plus the batch.
  EXPECT_EQ(m.bytes(), 4.0 * (5 * m.parameters + 100 * m.activations_per_example));
  // CNN 1x28x28 c8-c16 784-32-10: conv1 at 28x28 pooled to 14x14, conv2 at 14x14 to 7x7.
  const auto c = estimate_training_memory(cnn({8, 16}, {32}), 1, 0);
  EXPECT_EQ(c.parameters, 1 * 8 * 9 + 8 + 8 * 16 * 9 + 16 + 16 * 49 * 32 + 32 + 32 * 10 + 10);
  EXPECT_EQ(c.activations_per_example,
            784 + (3 * 8 * 784 + 8 * 196) + (3 * 16 * 196 + 16 * 49) + 3 * 32 + 3 * 10);
  EXPECT_EQ(c.bytes(), 4.0 * (3 * c.parameters + c.activations_per_example));
}

TEST(MemoryEstimate, OptimizerSlots) {
  EXPECT_EQ(optimizer_slots("adamw", 0.9), 2);
  EXPECT_EQ(optimizer_slots("sgd", 0.9), 1);
  EXPECT_EQ(optimizer_slots("sgd", 0.0), 0);
}

TEST(MemoryEstimate, HardLimitsNameTheOption) {
  auto msg = error_of([] { check_size_limits(mlp({1000000000, 64})); });
  EXPECT_NE(msg.find("model.widths"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1000000000"), std::string::npos) << msg;
  // 784 × 3,000,000 weights in fc1: above 2^31 − 1 in one tensor.
  msg = error_of([] { check_size_limits(mlp({3000000, 64})); });
  EXPECT_NE(msg.find("--model.widths 3000000,64"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fc1"), std::string::npos) << msg;
  msg = error_of([] { check_size_limits(cnn({int64_t{1} << 25, 8}, {16})); });
  EXPECT_NE(msg.find("model.conv"), std::string::npos) << msg;
  // validate() applies the same limits, so a config or a checkpoint's architecture cannot pass them.
  EXPECT_THROW(validate(mlp({kMaxSiteWidth + 1})), ConfigError);
  EXPECT_NO_THROW(check_size_limits(mlp({kMaxTensorElements / 784})));
}

TEST(MemoryEstimate, RefusesWhatCannotFitNamingOptionsAndGrowth) {
  const auto small = mlp({64, 32});
  const double need = estimate_training_memory(small, 64, 1).bytes();
  EXPECT_NO_THROW(check_training_memory(small, small, 64, 1, {need, "test"}));
  auto msg = error_of([&] { check_training_memory(small, small, 64, 1, {need - 1, "test"}); });
  EXPECT_NE(msg.find("--model.widths 64,32: training needs"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  // The widths a schedule reaches count, and the message says so.
  const auto grown = with_site_widths(small, {{"fc1", 4096}});
  EXPECT_EQ(grown.ints("widths"), (std::vector<int64_t>{4096, 32}));
  msg = error_of([&] { check_training_memory(small, grown, 64, 1, {need * 2, "test"}); });
  EXPECT_NE(msg.find("(grown to --model.widths 4096,32)"), std::string::npos) << msg;
  // A CNN names both of its width options.
  const auto big_cnn = cnn({1000000, 64}, {128});
  msg = error_of([&] { check_training_memory(big_cnn, big_cnn, 64, 1, {1e11, "test"}); });
  EXPECT_NE(msg.find("--model.conv 1000000,64 --model.widths 128"), std::string::npos) << msg;
}

TEST(MemoryEstimate, AvailableMemoryIsReadAndSharedByRanks) {
  const auto one = available_memory_per_rank(1);
  const auto four = available_memory_per_rank(4);
  ASSERT_GT(one.bytes, 0);
  EXPECT_FALSE(std::isinf(one.bytes)) << "/proc/meminfo unreadable";
  EXPECT_LT(four.bytes, one.bytes);  // a quarter of (roughly) the same figure
  EXPECT_NE(four.source.find("4 ranks"), std::string::npos) << four.source;
}

}  // namespace
}  // namespace sprout::growth
