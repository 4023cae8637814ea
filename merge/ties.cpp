// TIES merging (Yadav et al., NeurIPS 2023): trim, elect sign, disjoint mean; θ = θ_0 + λ·τ.
// Reference λ 0.55 and density 0.2 (the MagMax code's settings).
//
//  1. trim: each expert keeps the top `density` fraction of every tensor's task vector by
//     magnitude — m = max(1, round(density·numel)) entries, plus any tied with the m-th
//     (so no arbitrary tie-break); the rest become 0. Per tensor, as mergekit does: the
//     reference code trims over the whole flattened model, which a stream of one tensor
//     at a time cannot do without a second pass. density 1 keeps everything.
//  2. elect: sign_p = sign(Σ_i trimmed_i^p) — one Sum of the sign-weighted mass.
//  3. disjoint mean: τ^p = Σ_i trimmed_i^p·[sign(trimmed_i^p) = sign_p] / #agreeing — one
//     Sum carrying both the agreeing entries and their counts. An element no expert agrees
//     on (all trimmed, or an exact cancellation with sign_p = 0) gets τ^p = 0; the
//     reference code gives a zero-mass element the tensor-wide majority sign instead.
// So as a collective TIES is two allreduces, each rank trimming its own experts locally.
#include <cmath>

#include "merge/method.h"

namespace sprout::merge {

namespace {

torch::Tensor trim(const torch::Tensor& tau, double density) {
  const int64_t n = tau.numel();
  const int64_t keep = std::max<int64_t>(1, std::llround(density * static_cast<double>(n)));
  if (n == 0 || keep >= n) return tau;
  auto mag = tau.abs();
  const auto threshold = std::get<0>(mag.reshape({-1}).kthvalue(n - keep + 1));  // the keep-th largest
  return at::where(mag >= threshold, tau, at::zeros_like(tau));
}

class Ties final : public MergeMethod {
 public:
  std::string name() const override { return "ties"; }
  double default_lambda(int64_t) const override { return 0.55; }

  TaskVectors::Tensors merge(TaskVectors& experts, double lambda, const MergeOptions& options) const override {
    const double density = options.density;
    auto trimmed = [density](const TaskVectors::Tensors& tau) {
      TaskVectors::Tensors out;
      for (const auto& t : tau) out.push_back(trim(t, density));
      return out;
    };
    const auto mass = experts.reduce(runtime::ReduceOp::Sum, trimmed);
    TaskVectors::Tensors sign;
    for (const auto& m : mass) sign.push_back(m.sign());
    const size_t k = mass.size();
    // Entries that agree with the elected sign, then their counts: [agree_0..k-1, count_0..k-1].
    const auto sums = experts.reduce(runtime::ReduceOp::Sum, [&](const TaskVectors::Tensors& tau) {
      TaskVectors::Tensors t = trimmed(tau), out(2 * k);
      for (size_t i = 0; i < k; ++i) {
        const auto agree = t[i].ne(0).logical_and_(t[i].sign() == sign[i]);
        out[i] = at::where(agree, t[i], at::zeros_like(t[i]));
        out[k + i] = agree.to(torch::kFloat64);
      }
      return out;
    });
    TaskVectors::Tensors out;
    for (size_t i = 0; i < k; ++i) {
      const auto tau = sums[i] / sums[k + i].clamp_min(1.0);
      out.push_back(experts.base()[i] + tau * lambda);
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<MergeMethod> make_ties() { return std::make_unique<Ties>(); }

}  // namespace sprout::merge
