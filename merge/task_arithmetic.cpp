// Task arithmetic (Ilharco et al., ICLR 2023): θ = θ_0 + λ·Σ_i τ_i. One Sum.
//
// Default λ = 0.4. The paper picks λ on held-out data from a grid over [0, 1]; values
// around 0.3–0.4 are what it and the TIES paper typically end up with when several task
// vectors are added. (The MagMax code runs the plain sum only at λ = 1/n, which is
// `average`.) Set it with --lambda / fedcl.lambda.
#include "merge/method.h"

namespace sprout::merge {

namespace {

class TaskArithmetic final : public MergeMethod {
 public:
  std::string name() const override { return "task_arithmetic"; }
  double default_lambda(int64_t) const override { return 0.4; }

  TaskVectors::Tensors merge(TaskVectors& experts, double lambda, const MergeOptions&) const override {
    const auto sum = experts.reduce(runtime::ReduceOp::Sum);
    TaskVectors::Tensors out;
    for (size_t i = 0; i < sum.size(); ++i) out.push_back(experts.base()[i] + sum[i] * lambda);
    return out;
  }
};

}  // namespace

std::unique_ptr<MergeMethod> make_task_arithmetic() { return std::make_unique<TaskArithmetic>(); }

}  // namespace sprout::merge
