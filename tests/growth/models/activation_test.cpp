// The activation keeps clamp_min(x, 0)'s values and gradients (gradient 1 at 0, which
// lets units grown with zero fan-in learn) while using a faster backward.
#include <gtest/gtest.h>

#include <limits>

#include "growth/models/layers.h"

namespace sprout::growth {
namespace {

void expect_same_as_clamp_min(torch::ScalarType dtype, double denorm) {
  auto special = torch::tensor({-1.0, -0.0, 0.0, denorm, -denorm, 2.0, -3e-38}, torch::dtype(dtype));
  auto values = torch::cat({special, torch::randn({1000}, torch::dtype(dtype))});
  auto a = values.clone().requires_grad_(true);
  auto b = values.clone().requires_grad_(true);
  auto grad = torch::randn({values.numel()}, torch::dtype(dtype));
  auto ya = activation(a);
  auto yb = b.clamp_min(0);
  EXPECT_TRUE(ya.equal(yb)) << dtype;
  ya.backward(grad);
  yb.backward(grad);
  EXPECT_TRUE(a.grad().equal(b.grad())) << dtype;
  // Gradient 1 at exactly 0 (and -0), 0 for the smallest negative number.
  EXPECT_EQ(a.grad()[1].item<double>(), grad[1].item<double>());
  EXPECT_EQ(a.grad()[2].item<double>(), grad[2].item<double>());
  EXPECT_EQ(a.grad()[4].item<double>(), 0.0);
}

TEST(Activation, EqualsClampMinInValuesAndGradients) {
  expect_same_as_clamp_min(torch::kFloat32, std::numeric_limits<float>::denorm_min());
  expect_same_as_clamp_min(torch::kFloat64, std::numeric_limits<double>::denorm_min());
}

}  // namespace
}  // namespace sprout::growth
