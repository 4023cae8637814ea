// MagMax (Marczak et al., ECCV 2024; code danielm1405/magmax): per parameter element, the
// task vector entry of largest magnitude, sign kept; θ = θ_0 + λ·τ_MagMax. Reference λ 0.5.
//
// Note [MagMax ties]
// The entry of largest magnitude among {τ_i^p} is either max_i τ_i^p or min_i τ_i^p, so two
// reductions (Max, Min) and a local choice give it exactly: as a collective, two
// allreduces and no gather of the experts. The choice keeps the maximum when
// |max| >= |min|; the only exact tie between different values is max = −min > 0, so a
// tie between a positive and a negative entry of equal magnitude goes to the positive one.
// The rule depends on the set of values only, not on the order of the experts: the
// reference code folds experts in task order with `>=`, so there the later task wins a
// tie, an order a collective does not have. Ties are measure-zero for trained weights;
// the rule exists so that every process and every order gives the same bits.
#include <cmath>

#include "merge/method.h"

namespace sprout::merge {

namespace {

class MagMax final : public MergeMethod {
 public:
  std::string name() const override { return "magmax"; }
  double default_lambda(int64_t) const override { return 0.5; }

  TaskVectors::Tensors merge(TaskVectors& experts, double lambda, const MergeOptions&) const override {
    const auto hi = experts.reduce(runtime::ReduceOp::Max);
    const auto lo = experts.reduce(runtime::ReduceOp::Min);
    TaskVectors::Tensors out;
    for (size_t i = 0; i < hi.size(); ++i) {
      auto tau = at::where(hi[i].abs() >= lo[i].abs(), hi[i], lo[i]);  // Note [MagMax ties]
      out.push_back(experts.base()[i] + tau * lambda);
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<MergeMethod> make_magmax() { return std::make_unique<MagMax>(); }

}  // namespace sprout::merge
