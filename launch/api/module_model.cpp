#include "launch/api/module_model.h"

#include "runtime/error.h"

namespace sprout::api {

namespace {

std::string no_width_groups(const std::string& kind, const std::string& what) {
  return concat("model ", kind, " declares no width groups (a torch::nn::Module): ", what,
                " needs a model written against the model seam");
}

// A family of torch::nn::Modules: no settings, no sites; the input and classes come from
// the data like every family's.
class ModuleFamily final : public growth::ModelFamily {
 public:
  ModuleFamily(std::string kind, ModuleFactory make) : kind_(std::move(kind)), make_(std::move(make)) {}

  std::string name() const override { return kind_; }
  std::vector<growth::FamilySetting> settings() const override { return {}; }
  void validate(const growth::ArchSpec&) const override {}
  std::unique_ptr<growth::Model> build(const growth::ArchSpec& spec, uint64_t seed) const override {
    at::manual_seed(seed);
    BoundModule bound = make_(spec);
    SPROUT_CHECK(bound.module && bound.forward, Error, "model ", kind_, ": the module factory returned no module");
    return std::make_unique<ModuleModel>(std::move(bound), spec);
  }
  std::string describe(const growth::ArchSpec&) const override { return kind_ + " (torch::nn::Module)"; }
  std::vector<std::pair<std::string, int64_t>> site_widths(const growth::ArchSpec&) const override { return {}; }
  growth::ArchSpec with_site_widths(growth::ArchSpec spec, const std::map<std::string, int64_t>& widths) const override {
    SPROUT_CHECK(widths.empty(), ConfigError, no_width_groups(kind_, "a width change"));
    return spec;
  }
  // Costs are unknown for an opaque module: the MAC counter and the memory estimate see none.
  std::vector<growth::LayerCost> layers(const growth::ArchSpec&, const std::map<std::string, int64_t>&) const override {
    return {};
  }
  std::string width_options(const growth::ArchSpec&) const override { return ""; }

 private:
  std::string kind_;
  ModuleFactory make_;
};

}  // namespace

ModuleModel::ModuleModel(BoundModule bound, growth::ArchSpec spec) : bound_(std::move(bound)), spec_(std::move(spec)) {
  for (const auto& p : bound_.module->named_parameters(/*recurse=*/true)) {
    if (p.value().requires_grad()) {
      params_.bind_parameter(p.key(), p.value());
    } else {
      params_.bind_buffer(p.key(), p.value());  // a frozen parameter is checkpointed, not trained
    }
  }
  for (const auto& b : bound_.module->named_buffers(/*recurse=*/true)) params_.bind_buffer(b.key(), b.value());
  SPROUT_CHECK(params_.num_parameters() > 0, ConfigError, "model ", spec_.kind, ": the module has no trainable parameters");
}

torch::Tensor ModuleModel::forward(const torch::Tensor& x, const growth::ForwardOptions& o) {
  const bool needs_sites = (o.active && !o.active->empty()) || (o.unit_scale && !o.unit_scale->empty()) || o.trace ||
                           o.site_hook || (o.known_outputs && !o.known_outputs->empty());
  SPROUT_CHECK(!needs_sites, ConfigError, no_width_groups(spec_.kind, "slimmable, adaptive or growth execution"));
  bound_.module->train(o.train);
  auto logits = bound_.forward(x);
  SPROUT_CHECK(logits.dim() == 2 && logits.size(0) == x.size(0) && logits.size(1) == spec_.classes, ConfigError,
               "model ", spec_.kind, ": forward returned shape ", logits.sizes(), " for ", x.size(0),
               " examples; expected (", x.size(0), ", ", spec_.classes, ") logits");
  return logits;
}

void register_module_family(const std::string& kind, ModuleFactory make) {
  growth::register_model_family(std::make_unique<ModuleFamily>(kind, std::move(make)));
}

}  // namespace sprout::api
