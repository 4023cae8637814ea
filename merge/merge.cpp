#include "merge/merge.h"

#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::merge {

TaskVectors::Tensors mean_of_experts(TaskVectors& experts) {
  const auto sum = experts.reduce(runtime::ReduceOp::Sum);
  const double n = static_cast<double>(experts.count());
  TaskVectors::Tensors out;
  for (size_t i = 0; i < sum.size(); ++i) out.push_back(experts.base()[i] + sum[i] / n);
  return out;
}

torch::Tensor max_of_experts(const std::vector<torch::Tensor>& experts) {
  SPROUT_CHECK(!experts.empty(), ConfigError, "a merge needs at least one expert");
  auto acc = experts[0].to(torch::kInt64).clone();
  for (size_t i = 1; i < experts.size(); ++i) acc = at::maximum(acc, experts[i].to(torch::kInt64));
  return acc;
}

torch::Tensor merge_tensor(const MergeMethod& method, TensorRole role, const std::string& name,
                           const torch::Tensor& base, const std::vector<torch::Tensor>& experts, double lambda,
                           const MergeOptions& options) {
  torch::NoGradGuard no_grad;
  SPROUT_CHECK(!experts.empty(), ConfigError, "a merge needs at least one expert");
  for (size_t e = 0; e < experts.size(); ++e) {
    SPROUT_CHECK(experts[e].sizes() == base.sizes() && experts[e].scalar_type() == base.scalar_type(), ConfigError,
                 "expert ", e, ": tensor ", name, " is ", runtime::shape_string(experts[e].sizes()), " ",
                 experts[e].scalar_type(), ", the base's is ", runtime::shape_string(base.sizes()), " ",
                 base.scalar_type());
  }
  if (role == TensorRole::Counter) return max_of_experts(experts).to(base.scalar_type());
  std::vector<TaskVectors::Tensors> local;
  for (const auto& e : experts) local.push_back({e});
  TaskVectors tv({base}, local, static_cast<int64_t>(experts.size()));
  tv.set_names({name});
  SPROUT_CHECK(tv.finite(), ConfigError, "tensor ", name, ": the base or an expert holds NaN or infinite values");
  const auto merged = role == TensorRole::Parameter ? method.merge(tv, lambda, options) : mean_of_experts(tv);
  return merged.at(0).to(base.scalar_type());
}

TensorBundle merge_bundles(const MergeMethod& method, const TensorBundle& base,
                           const std::vector<TensorBundle>& experts, const MergeOptions& options) {
  SPROUT_CHECK(!experts.empty(), ConfigError, "a merge needs at least one expert");
  validate(options);
  for (size_t e = 0; e < experts.size(); ++e) require_same_layout(base, experts[e], concat("expert ", e));
  const double lambda = resolve_lambda(method, options, static_cast<int64_t>(experts.size()));
  TensorBundle out;
  for (size_t i = 0; i < base.size(); ++i) {
    std::vector<torch::Tensor> values;
    for (const auto& e : experts) values.push_back(e[i].value);
    out.push_back({base[i].name, base[i].role,
                   merge_tensor(method, base[i].role, base[i].name, base[i].value, values, lambda, options)});
  }
  return out;
}

}  // namespace sprout::merge
