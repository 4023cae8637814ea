// Random selection (the survey's ablation of MagMax's choice): per parameter element, the
// task vector entry of one expert drawn uniformly at random; θ = θ_0 + λ·τ_drawn.
// Reference λ 1: a drawn entry is a real expert's entry, not an inflated one like the
// largest magnitude (MagMax's 0.5 compensates for that).
//
// The draw is a counter-based hash of (random.seed, the tensor's name, the element's
// index), not a generator's stream, so it is the same whichever process computes it and
// whether a tensor is merged alone from files or within a whole model; it does not depend
// on LibTorch's random number generator either. As a collective: one Sum, each expert
// contributing its entries where it was drawn and 0 elsewhere.
#include <cstring>

#include "merge/method.h"

namespace sprout::merge {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t name_hash(const std::string& name) {  // FNV-1a
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// The expert drawn for each element of a tensor with `numel` elements, in [0, experts).
torch::Tensor draws(int64_t seed, const std::string& name, int64_t numel, int64_t experts) {
  auto out = torch::empty({numel}, torch::kInt64);
  auto* p = out.data_ptr<int64_t>();
  const uint64_t key = mix(static_cast<uint64_t>(seed) ^ mix(name_hash(name)));
  for (int64_t j = 0; j < numel; ++j) {
    // The top 53 bits as a fraction in [0, 1), times the number of experts: uniform.
    const double u = static_cast<double>(mix(key + static_cast<uint64_t>(j)) >> 11) * 0x1.0p-53;
    p[j] = static_cast<int64_t>(u * static_cast<double>(experts));
  }
  return out;
}

class RandomSelection final : public MergeMethod {
 public:
  std::string name() const override { return "random"; }
  double default_lambda(int64_t) const override { return 1.0; }

  TaskVectors::Tensors merge(TaskVectors& experts, double lambda, const MergeOptions& options) const override {
    std::vector<torch::Tensor> drawn;
    for (size_t i = 0; i < experts.num_tensors(); ++i) {
      const auto& b = experts.base()[i];
      drawn.push_back(draws(options.seed, experts.name(i), b.numel(), experts.count()).view(b.sizes()));
    }
    const auto tau = experts.reduce_indexed(runtime::ReduceOp::Sum, [&](const TaskVectors::Tensors& t, int64_t e) {
      TaskVectors::Tensors out;
      for (size_t i = 0; i < t.size(); ++i) out.push_back(at::where(drawn[i] == e, t[i], at::zeros_like(t[i])));
      return out;
    });
    TaskVectors::Tensors out;
    for (size_t i = 0; i < tau.size(); ++i) out.push_back(experts.base()[i] + tau[i] * lambda);
    return out;
  }
};

}  // namespace

std::unique_ptr<MergeMethod> make_random_selection() { return std::make_unique<RandomSelection>(); }

}  // namespace sprout::merge
