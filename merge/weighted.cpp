#include "merge/weighted.h"

#include <cmath>

#include "runtime/error.h"

namespace sprout::merge {

namespace {

void check_layout(const TensorBundle& base, const TensorBundle& expert) {
  SPROUT_CHECK(base.size() == expert.size(), ConfigError, "weighted merge: the expert has ", expert.size(),
               " tensors, the base ", base.size());
  for (size_t i = 0; i < base.size(); ++i) {
    SPROUT_CHECK(base[i].name == expert[i].name && base[i].value.sizes() == expert[i].value.sizes() &&
                     base[i].value.scalar_type() == expert[i].value.scalar_type(),
                 ConfigError, "weighted merge: tensor ", i, " is '", expert[i].name, "' ", expert[i].value.sizes(),
                 " in the expert and '", base[i].name, "' ", base[i].value.sizes(), " in the base");
  }
}

}  // namespace

TensorBundle weight_task_vector(const TensorBundle& base, const TensorBundle& expert, double share) {
  check_layout(base, expert);
  SPROUT_CHECK(std::isfinite(share), ConfigError, "weighted merge: weight share ", share, " is not finite");
  TensorBundle out = expert;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].role != TensorRole::Parameter) continue;
    auto b = base[i].value.to(torch::kFloat64);
    out[i].value = (b + (expert[i].value.to(torch::kFloat64) - b) * share).to(expert[i].value.scalar_type());
  }
  return out;
}

TensorBundle weighted_average(const TensorBundle& base, const std::vector<TensorBundle>& experts,
                              const std::vector<double>& weights) {
  SPROUT_CHECK(!experts.empty() && weights.size() == experts.size(), ConfigError, "weighted merge: ",
               experts.size(), " experts and ", weights.size(), " weights");
  double total = 0;
  for (double w : weights) {
    SPROUT_CHECK(std::isfinite(w) && w >= 0, ConfigError, "weighted merge: weight ", w, " is not >= 0");
    total += w;
  }
  SPROUT_CHECK(total > 0, ConfigError, "weighted merge: the weights sum to 0");
  TensorBundle out = base;
  for (size_t i = 0; i < base.size(); ++i) {
    auto b = base[i].value.to(torch::kFloat64);
    auto sum = torch::zeros_like(b);
    for (size_t e = 0; e < experts.size(); ++e) {
      check_layout(base, experts[e]);
      sum += (experts[e][i].value.to(torch::kFloat64) - b) * (weights[e] / total);
    }
    if (base[i].role == TensorRole::Parameter) out[i].value = (b + sum).to(base[i].value.scalar_type());
  }
  return out;
}

}  // namespace sprout::merge
