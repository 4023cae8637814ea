// Any torch::nn::Module as a sprout model, the way PyTorch users hand a module to DDP.
//
// register_module("mynet", [](const growth::ArchSpec& in) { return MyNet(in.classes); })
// makes "mynet" a model family
// (growth/models/family.h) whose models are fresh MyNet modules: `--model.kind mynet`
// trains it like a built-in model — data-parallel on sprout's engine, sprout's optimizers,
// checkpoints, --init.from, merges. The ModuleModel binds the module's own parameter and
// buffer tensors into its ParamSet (Note [Bound tensors] in runtime/param_set.h), so the
// module's forward() trains them and the engine's hooks fire on them during backward.
//
// A module declares no width sites: a growth schedule, slimmable or adaptive width on it is
// refused with one line ("model mynet declares no width groups"). To grow a model, write
// it against the model seam instead (a ModelFamily with width sites).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <memory>
#include <string>

#include "growth/models/family.h"
#include "growth/models/model.h"

namespace sprout::api {

// A module and how to call it: the model input x, float (N, C, H, W) -> logits (N, classes).
struct BoundModule {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
};

class ModuleModel final : public growth::Model {
 public:
  // Binds every parameter and buffer of `bound.module` (named as named_parameters() and
  // named_buffers() name them, "fc1.weight"); `spec` is what arch() reports.
  ModuleModel(BoundModule bound, growth::ArchSpec spec);

  // Sets the module's training mode, then calls its forward. Options that need width sites
  // (active widths, unit scales, traces, site hooks) throw ConfigError. The logits must be
  // (N, classes), else ConfigError naming the model and the shape.
  torch::Tensor forward(const torch::Tensor& x, const growth::ForwardOptions& options) override;
  std::vector<growth::WidthSite> sites() const override { return {}; }
  growth::ArchSpec arch() const override { return spec_; }

  torch::nn::Module& module() { return *bound_.module; }

 private:
  BoundModule bound_;
  growth::ArchSpec spec_;
};

// Registers `kind` as a family whose build() returns a ModuleModel of make(spec)'s module.
// The spec tells the data's shape: in_channels, in_height, in_width and classes. make()
// runs after torch::manual_seed(seed), so equal seeds build equal modules. Throws Error
// for a kind already registered. Call before options are read (a Training is made).
using ModuleFactory = std::function<BoundModule(const growth::ArchSpec& spec)>;
void register_module_family(const std::string& kind, ModuleFactory make);

namespace detail {
template <class M>
std::shared_ptr<torch::nn::Module> module_pointer(const std::shared_ptr<M>& m) { return m; }
template <class M>
std::shared_ptr<torch::nn::Module> module_pointer(const torch::nn::ModuleHolder<M>& m) { return m.ptr(); }
}  // namespace detail

// The same for any module type with a forward(Tensor) -> Tensor (torch::nn::Sequential
// included): `make(spec)` returns a module holder (TORCH_MODULE) or a std::shared_ptr.
template <class Make>
void register_module(const std::string& kind, Make make) {
  register_module_family(kind, [make](const growth::ArchSpec& spec) {
    auto m = make(spec);
    return BoundModule{detail::module_pointer(m), [m](const torch::Tensor& x) mutable { return m->forward(x); }};
  });
}

}  // namespace sprout::api
