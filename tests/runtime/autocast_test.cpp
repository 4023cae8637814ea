// compat::AutocastGuard (runtime.precision = bf16): matmuls inside it compute in bfloat16,
// float32 leaves get float32 gradients within 2% (of their largest) of the float32 ones, and leaving it restores
// float32 computation.
#include <gtest/gtest.h>

#include "runtime/torch_compat.h"

namespace sprout {
namespace {

TEST(Autocast, Bf16ForwardFloat32GradientsAndStateRestored) {
  torch::manual_seed(1);
  auto w = torch::randn({16, 8}).requires_grad_(true);
  auto x = torch::randn({4, 8});
  torch::Tensor loss;
  {
    compat::AutocastGuard guard(torch::kCPU, at::kBFloat16);
    auto y = torch::linear(x, w);
    EXPECT_EQ(y.scalar_type(), at::kBFloat16);
    loss = y.to(torch::kFloat32).square().sum();
  }
  loss.backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().scalar_type(), torch::kFloat32);
  auto w32 = w.detach().clone().requires_grad_(true);
  torch::linear(x, w32).square().sum().backward();
  // bfloat16 keeps 8 bits of mantissa: errors of a few 1e-3 of the gradient's scale.
  const double error = ((w.grad() - w32.grad()).abs().max() / w32.grad().abs().max()).item<double>();
  EXPECT_LT(error, 2e-2);
  EXPECT_FALSE(torch::equal(w.grad(), w32.grad())) << "no bfloat16 rounding at all";
  EXPECT_EQ(torch::linear(x, w).scalar_type(), torch::kFloat32);  // off again
}

}  // namespace
}  // namespace sprout
