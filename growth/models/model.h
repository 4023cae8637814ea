// Models built from width sites.
//
// A Model owns a ParamSet whose names are stable under width changes: an MLP is fc1…fcN
// (fcN the output layer); a CNN is conv1…convK then fc1…fcN; a batch-norm on a site's
// producer is bn_<site>. Every hidden dimension is a WidthSite named after its producer
// (site "fc1" is the output width of fc1). Growth, slimming and adaptive width act on sites
// only, so a new model kind has to list its sites and nothing else; it registers as a
// family (growth/models/family.h).
//
// The activation is clamp_min(x, 0): its gradient at 0 is 1 (torch::relu's is 0), which
// is what lets a neuron grown with zero fan-in learn (growth/README.md "GradMax").
#pragma once

#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "growth/models/arch.h"
#include "runtime/param_set.h"

namespace sprout::growth {

struct WidthSite {
  enum class Kind { Linear, Conv };
  std::string name;      // = producer module ("fc1", "conv2")
  Kind kind = Kind::Linear;
  std::string producer;  // producer.weight rows / out-channels, producer.bias
  std::string norm;      // batch-norm module on the producer side, "" if none
  std::string consumer;  // consumer.weight columns / in-channels
  // Consumer input columns owned by one unit: 1, or H·W at a Conv→flatten→Linear boundary
  // (channel c owns columns [c·H·W, (c+1)·H·W)).
  int64_t consumer_group = 1;
  // The producer block pools (2×2 max) between the activation and the consumer.
  bool pooled = false;
  // Conv producers: the stride of the producer convolution (3×3, padding 1).
  int64_t stride = 1;
  // The activation between the producer (and its norm) and the consumer: activation()
  // (layers.h) or GELU. Its slope at 0 is what a zero-fan-in unit passes back (GradMax).
  enum class Activation { ClampMin, Gelu };
  Activation activation = Activation::ClampMin;
  double slope_at_zero() const { return activation == Activation::Gelu ? 0.5 : 1.0; }
  // Linear sites over tokens: the units are the last dimension of (N, T, units) tensors;
  // hooks (unit_scale, site_hook) still see units at dim 1, i.e. (N, units, T).
  bool tokens = false;
  int64_t width = 0;
};

// Records every module's input and raw output (pre-norm, pre-activation) during a forward
// pass, for strategies that need activations and output gradients (GradMax). Outputs
// retain their gradient.
struct ForwardTrace {
  std::map<std::string, torch::Tensor> inputs;
  std::map<std::string, torch::Tensor> outputs;
};

struct ForwardOptions {
  bool train = false;
  ForwardTrace* trace = nullptr;
  // Slimmable execution: active units per site (absent: the full width). Weights are sliced
  // (views), not copied.
  const std::map<std::string, int64_t>* active = nullptr;
  // Per-site multipliers applied to the activation output (adaptive width importances),
  // a 1-D tensor of the site's (active) width.
  const std::map<std::string, torch::Tensor>* unit_scale = nullptr;
  // Switchable batch-norm (growth/slimmable/slimmable.h): suffix of the running-statistics buffers
  // used and updated ("" = the model's own, i.e. the full width's).
  std::string norm_stats;
  // Called with each site's output (after activation, unit_scale and pooling, before the
  // consumer); returns what the forward continues with (the DS-Net gate's attention).
  std::function<torch::Tensor(const std::string& site, const torch::Tensor& h)> site_hook;
  // Raw outputs of modules already computed for this batch on their first units (the
  // dynamic gate's probe, growth/slimmable/gate.h): such a module computes only the remaining units.
  const std::map<std::string, torch::Tensor>* known_outputs = nullptr;

  // The active width of `site` (-1: the full width) and the known raw output of `module`
  // (undefined: none), as a model's forward reads them.
  int64_t active_width(const std::string& site) const;
  torch::Tensor known_output(const std::string& module) const;
};

class Model {
 public:
  virtual ~Model() = default;

  runtime::ParamSet& params() { return params_; }
  const runtime::ParamSet& params() const { return params_; }

  // x: float (N, C, H, W) -> logits (N, classes).
  virtual torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& options) = 0;
  torch::Tensor forward(const torch::Tensor& x, bool train) {
    ForwardOptions o;
    o.train = train;
    return forward(x, o);
  }

  // What the first site's producer reads, computed from the model input x (the DS-Net
  // gate's probe starts there): x itself where the first site's producer is the first
  // layer; a residual network's stem. Eval mode, no width dependence.
  virtual torch::Tensor first_site_input(const torch::Tensor& x) { return x; }

  // Sites in forward order, with their current widths.
  virtual std::vector<WidthSite> sites() const = 0;
  // The architecture with the current widths (rebuilds an equal model).
  virtual ArchSpec arch() const = 0;

  WidthSite site(const std::string& name) const;  // throws ConfigError for unknown sites
  std::map<std::string, int64_t> widths() const;
  std::vector<std::string> site_names() const;

 protected:
  runtime::ParamSet params_;
};

// Builds a freshly initialised model (PyTorch's default init, drawn from `seed`) of the
// family spec.kind names; `spec` is completed first (growth/models/arch.h).
std::unique_ptr<Model> build_model(const ArchSpec& spec, uint64_t seed);

}  // namespace sprout::growth
