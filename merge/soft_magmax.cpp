// Soft MagMax: per parameter element, the experts' task vector entries weighted by a
// softmax of their magnitudes, w_i = softmax_i(|τ_i| / T), τ = Σ_i w_i·τ_i; θ = θ_0 + λ·τ.
// Reference λ 0.5 (MagMax's, so that the two meet as T → 0).
//
// T → 0 puts all the weight on the entry of largest magnitude: MagMax's selection. Where
// MagMax breaks an exact tie between +a and −a towards +a (Note [MagMax ties]), the soft
// version weights them equally and gives 0. T → ∞ makes the weights uniform: the mean of
// the task vectors, i.e. averaging when λ = 1. The default T = 0.01 sits on the scale of
// the entries of trained task vectors (merge/README.md "Merge methods").
//
// As a collective: one Max of |τ_i| (the softmax's shift, so no exp overflows: every
// exponent is <= 0 and the largest entry's weight is exactly 1), then one Sum carrying the
// weighted entries and the weights together. For small T the other weights underflow to
// exactly 0, so the result is MagMax's bit for bit wherever there is no tie.
#include <cmath>

#include "merge/method.h"

namespace sprout::merge {

namespace {

class SoftMagMax final : public MergeMethod {
 public:
  std::string name() const override { return "soft_magmax"; }
  double default_lambda(int64_t) const override { return 0.5; }

  TaskVectors::Tensors merge(TaskVectors& experts, double lambda, const MergeOptions& options) const override {
    const double t = options.temperature;
    const auto largest = experts.reduce(runtime::ReduceOp::Max, [](const TaskVectors::Tensors& tau) {
      TaskVectors::Tensors out;
      for (const auto& x : tau) out.push_back(x.abs());
      return out;
    });
    const size_t k = largest.size();
    // [Σ w_i τ_i ..., Σ w_i ...] in one Sum.
    const auto sums = experts.reduce(runtime::ReduceOp::Sum, [&](const TaskVectors::Tensors& tau) {
      TaskVectors::Tensors out(2 * k);
      for (size_t i = 0; i < k; ++i) {
        const auto w = ((tau[i].abs() - largest[i]) / t).exp();
        out[i] = w * tau[i];
        out[k + i] = w;
      }
      return out;
    });
    TaskVectors::Tensors out;
    for (size_t i = 0; i < k; ++i) out.push_back(experts.base()[i] + sums[i] / sums[k + i] * lambda);
    return out;
  }
};

}  // namespace

std::unique_ptr<MergeMethod> make_soft_magmax() { return std::make_unique<SoftMagMax>(); }

}  // namespace sprout::merge
