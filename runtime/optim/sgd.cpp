#include <cmath>

#include "runtime/optim/optimizer.h"

namespace sprout::runtime {

namespace {

// torch.optim.SGD: d = g + wd·p; buf = momentum·buf + d; p -= lr·buf.
// The buffer starts at zero, which equals torch's "buf = d" on the first step exactly.
class Sgd final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  std::string name() const override { return "sgd"; }
  std::vector<std::string> slot_names() const override {
    if (options_.momentum == 0.0) return {};
    return {"momentum_buffer"};
  }

 protected:
  void update(torch::Tensor& p, const torch::Tensor& grad, Slots& slots, int64_t,
              double lr, const torch::Tensor& scale) override {
    torch::Tensor d = grad;
    if (options_.weight_decay != 0.0) d = d.add(p, options_.weight_decay);
    if (options_.momentum != 0.0) {
      auto& buf = slots.at("momentum_buffer");
      buf.mul_(options_.momentum).add_(d);
      d = buf;
    }
    if (scale.defined()) p.sub_(d * scale, lr);
    else p.sub_(d, lr);
  }
};

}  // namespace

std::unique_ptr<Optimizer> make_sgd(const OptimizerOptions& o) { return std::make_unique<Sgd>(o); }

}  // namespace sprout::runtime
