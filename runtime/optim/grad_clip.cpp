#include "runtime/optim/grad_clip.h"

#include <cmath>

#include "runtime/comm/communicator.h"
#include "runtime/error.h"

namespace sprout::runtime {

namespace {

void scale_all(const std::vector<torch::Tensor>& grads, double norm, double max_norm) {
  // torch multiplies by the clamped coefficient even when it is 1 (exact: x·1 = x).
  const double coef = std::min(max_norm / (norm + 1e-6), 1.0);
  if (coef >= 1.0) return;
  torch::NoGradGuard no_grad;
  for (const auto& g : grads) {
    if (g.defined()) g.mul_(coef);
  }
}

}  // namespace

double clip_grad_norm(const std::vector<torch::Tensor>& grads, double max_norm) {
  SPROUT_CHECK(std::isfinite(max_norm) && max_norm > 0, ConfigError, "gradient clipping: max norm must be > 0, got ",
               max_norm);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& g : grads) {
    if (g.defined()) norms.push_back(g.norm());
  }
  if (norms.empty()) return 0.0;
  const double norm = torch::stack(norms).norm().item<double>();
  scale_all(grads, norm, max_norm);
  return norm;
}

double clip_grad_norm_sharded(const std::vector<torch::Tensor>& pieces, double max_norm, Communicator& comm) {
  SPROUT_CHECK(std::isfinite(max_norm) && max_norm > 0, ConfigError, "gradient clipping: max norm must be > 0, got ",
               max_norm);
  torch::NoGradGuard no_grad;
  double squares = 0;
  for (const auto& g : pieces) {
    if (g.defined() && g.numel() > 0) squares += g.to(torch::kFloat64).square().sum().item<double>();
  }
  const double norm = std::sqrt(allreduce_scalar(comm, squares, ReduceOp::Sum));
  scale_all(pieces, norm, max_norm);
  return norm;
}

}  // namespace sprout::runtime
