#include <cmath>

#include "runtime/optim/optimizer.h"

namespace sprout::runtime {

namespace {

// torch.optim.AdamW (single-tensor path): p *= 1 - lr·wd; m, v moments; bias correction
// from this parameter's own step counter.
class AdamW final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  std::string name() const override { return "adamw"; }
  std::vector<std::string> slot_names() const override { return {"exp_avg", "exp_avg_sq"}; }

 protected:
  void update(torch::Tensor& p, const torch::Tensor& grad, Slots& slots, int64_t step,
              double lr, const torch::Tensor& scale) override {
    const auto& o = options_;
    auto& m = slots.at("exp_avg");
    auto& v = slots.at("exp_avg_sq");
    if (o.weight_decay != 0.0) {
      if (scale.defined()) p.mul_(1.0 - lr * o.weight_decay * scale);
      else p.mul_(1.0 - lr * o.weight_decay);
    }
    m.mul_(o.beta1).add_(grad, 1.0 - o.beta1);
    v.mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
    const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
    auto denom = (v.sqrt() / std::sqrt(bc2)).add_(o.eps);
    const double step_size = lr / bc1;
    if (scale.defined()) p.sub_(m / denom * scale, step_size);
    else p.addcdiv_(m, denom, -step_size);
  }
};

}  // namespace

std::unique_ptr<Optimizer> make_adamw(const OptimizerOptions& o) { return std::make_unique<AdamW>(o); }

}  // namespace sprout::runtime
