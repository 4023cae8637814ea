// Models built from width groups.
//
// A Model owns a ParamSet whose names are stable under width changes: an MLP is fc1…fcN
// (fcN the output layer); a CNN is conv1…convK then fc1…fcN; a batch-norm on a site's
// producer is bn_<site>. Every width the model can change is a WidthSite (a width group):
//  - an inner site (Group::Inner), named after its one producer (site "fc1" is the output
//    width of fc1), with one norm and one consumer: what growth, slimming and adaptive width
//    act on, listed by sites();
//  - a heads group (Group::Heads): units are whole attention heads, several rows each;
//  - a residual group (Group::Residual): one width tied through several producers, the
//    norms along it and several consumers (a ResNet stage, a Transformer's stream).
// groups() lists all of them; the last two kinds describe their tensors as slices
// (GroupSlice), so that surgery (growth/site_resize.h) acts on them without knowing the
// model. A new model kind lists its groups and nothing else; it registers as a family
// (growth/models/family.h).
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

// The entries of one tensor that belong to a group's units: along `dim`, unit u owns
// [u·unit, (u+1)·unit) and the units fill the whole dimension (size = width·unit), so
// growing appends at the end and shrinking keeps the leading region — what
// Optimizer::resize_state keeps bit-exact.
struct GroupSlice {
  std::string tensor;  // parameter or buffer name ("block1.qkv.weight", "bn_final.running_var")
  int64_t dim = 0;
  int64_t unit = 1;    // entries per unit along dim (3·head_dim for a head's q, k, v rows)
  double fill = 0.0;   // value of a new unit's entries before a strategy chooses (γ, var: 1)
  bool buffer = false;
};

struct WidthSite {
  enum class Kind { Linear, Conv };
  enum class Group { Inner, Heads, Residual };
  Group group = Group::Inner;
  std::string name;      // = producer module ("fc1", "conv2"); groups: "stage1", "block1.heads", "stream"
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

  // Heads and residual groups (empty for inner sites, whose tensors the fields above name):
  // what the units' producers write (weight rows, biases, embeddings), what their consumers
  // read (weight columns) and the norms along the width (BatchNorm / LayerNorm γ, β and
  // running statistics).
  std::vector<GroupSlice> producers, consumers, norms;
  // A LayerNorm normalises over the group's units (a Transformer's stream): new units
  // change every token's mean and variance.
  bool normalised_over_units = false;
  bool inner() const { return group == Group::Inner; }
  std::string group_kind() const;  // "inner", "heads", "residual"
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
  // The caller guarantees they were computed at the same active widths before the module.
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
  // The same at the active widths and statistics of `options` (its active and norm_stats;
  // no hooks): where slimmable groups run before the first site (a ResNet's stem), the
  // gate's probe reads them slimmed. Default: first_site_input(x).
  virtual torch::Tensor first_site_input(const torch::Tensor& x, const ForwardOptions& options) {
    (void)options;
    return first_site_input(x);
  }

  // Inner sites in forward order, with their current widths (slimming and adaptive width
  // act on these).
  virtual std::vector<WidthSite> sites() const = 0;
  // Every width group: the inner sites, then heads and residual groups (growth acts on
  // these).
  virtual std::vector<WidthSite> groups() const { return sites(); }
  // Batch-norms other than the sites' own whose input changes with the active widths (a
  // ResNet's residual stream after the first slimmed block): slimmable execution keeps
  // running statistics per width for them too, read with ForwardOptions::norm_stats.
  virtual std::vector<std::string> width_dependent_norms() const { return {}; }
  // Width groups that forward() slices to ForwardOptions::active and scales by ForwardOptions::unit_scale (keyed by the group's name), like inner sites. Default: none.
  virtual std::vector<std::string> slimmable_groups() const { return {}; }
  // The architecture with the current widths (rebuilds an equal model).
  virtual ArchSpec arch() const = 0;

  // Any group by name; throws ConfigError for unknown names, listing the groups.
  WidthSite site(const std::string& name) const;
  std::map<std::string, int64_t> widths() const;  // inner sites
  std::vector<std::string> site_names() const;    // inner sites
  std::map<std::string, int64_t> group_widths() const;
  std::vector<std::string> group_names() const;

 protected:
  runtime::ParamSet params_;
};

// Builds a freshly initialised model (PyTorch's default init, drawn from `seed`) of the
// family spec.kind names; `spec` is completed first (growth/models/arch.h).
std::unique_ptr<Model> build_model(const ArchSpec& spec, uint64_t seed);

}  // namespace sprout::growth
