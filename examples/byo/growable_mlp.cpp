#include "growable_mlp.h"

#include <sprout/sprout.h>

namespace {

using sprout::growth::ArchSpec;
using sprout::growth::ForwardOptions;
using sprout::growth::WidthSite;

int64_t inputs_of(const ArchSpec& spec) { return spec.in_channels * spec.in_height * spec.in_width; }

class GrowableMlp final : public sprout::growth::Model {
 public:
  GrowableMlp(const ArchSpec& spec, uint64_t seed) : spec_(spec) {
    auto gen = sprout::compat::make_generator(seed);
    sprout::growth::add_linear(params_, "fc1", inputs_of(spec), spec.integer("hidden"), gen);
    sprout::growth::add_linear(params_, "fc2", spec.integer("hidden"), spec.classes, gen);
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = x.reshape({x.size(0), -1});
    const int64_t width = o.active_width("fc1");  // slimmable execution: the first units only
    if (o.trace) o.trace->inputs["fc1"] = h;
    auto z = sprout::growth::linear(params_, "fc1", h, -1, width, o.known_output("fc1"));
    if (o.trace) {  // growth strategies (GradMax) read activations and output gradients
      z.retain_grad();
      o.trace->outputs["fc1"] = z;
    }
    h = sprout::growth::activation(z);
    if (o.unit_scale && o.unit_scale->count("fc1")) h = h * o.unit_scale->at("fc1");
    if (o.site_hook) h = o.site_hook("fc1", h);
    if (o.trace) o.trace->inputs["fc2"] = h;
    auto logits = sprout::growth::linear(params_, "fc2", h, width, -1);
    if (o.trace) {
      logits.retain_grad();
      o.trace->outputs["fc2"] = logits;
    }
    return logits;
  }

  std::vector<WidthSite> sites() const override {
    WidthSite s;
    s.name = s.producer = "fc1";
    s.consumer = "fc2";
    s.width = params_.parameter("fc1.weight").size(0);
    return {s};
  }

  ArchSpec arch() const override {
    ArchSpec a = spec_;
    a.set_integer("hidden", params_.parameter("fc1.weight").size(0));
    return a;
  }

 private:
  ArchSpec spec_;
};

class GrowableMlpFamily final : public sprout::growth::ModelFamily {
 public:
  std::string name() const override { return "growable_mlp"; }
  std::vector<sprout::growth::FamilySetting> settings() const override {
    return {{"hidden", sprout::growth::FamilySetting::Type::Integer, "32", "growable_mlp: width of fc1"}};
  }
  void validate(const ArchSpec& spec) const override {
    SPROUT_CHECK(spec.integer("hidden") > 0, sprout::ConfigError, "--model.hidden: ", spec.integer("hidden"),
                 " must be > 0");
  }
  std::unique_ptr<sprout::growth::Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<GrowableMlp>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override {
    return sprout::concat("growable_mlp ", inputs_of(spec), "-", spec.integer("hidden"), "-", spec.classes);
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    return {{"fc1", spec.integer("hidden")}};
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& widths) const override {
    if (auto it = widths.find("fc1"); it != widths.end()) spec.set_integer("hidden", it->second);
    return spec;
  }
  std::vector<sprout::growth::LayerCost> layers(const ArchSpec& spec,
                                                const std::map<std::string, int64_t>& active) const override {
    return sprout::growth::dense_layers(inputs_of(spec), {spec.integer("hidden")}, spec.classes, false, active);
  }
  std::string width_options(const ArchSpec& spec) const override {
    return sprout::concat("--model.hidden ", spec.integer("hidden"));
  }
};

}  // namespace

void register_growable_mlp() { sprout::growth::register_model_family(std::make_unique<GrowableMlpFamily>()); }
