// Average: θ = mean_i θ_i, computed as θ_0 + (Σ_i τ_i) / n — task arithmetic with
// λ = 1/n, which is how the MagMax code runs it. It has no λ of its own. One Sum.
#include "merge/method.h"

namespace sprout::merge {

namespace {

class Average final : public MergeMethod {
 public:
  std::string name() const override { return "average"; }
  bool takes_lambda() const override { return false; }
  double default_lambda(int64_t experts) const override { return 1.0 / static_cast<double>(experts); }

  TaskVectors::Tensors merge(TaskVectors& experts, double, const MergeOptions&) const override {
    const auto sum = experts.reduce(runtime::ReduceOp::Sum);
    const double n = static_cast<double>(experts.count());
    TaskVectors::Tensors out;
    for (size_t i = 0; i < sum.size(); ++i) out.push_back(experts.base()[i] + sum[i] / n);
    return out;
  }
};

}  // namespace

std::unique_ptr<MergeMethod> make_average() { return std::make_unique<Average>(); }

}  // namespace sprout::merge
