// MLP: flatten -> fc1 -> [bn_fc1] -> act -> ... -> fcN (logits).
#include "growth/models/family.h"
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

class Mlp final : public Model {
 public:
  Mlp(const ArchSpec& spec, uint64_t seed)
      : spec_(spec), hidden_(spec.ints("widths").size()), batch_norm_(spec.flag("batch_norm")) {
    auto gen = compat::make_generator(seed);
    const auto widths = spec.ints("widths");
    int64_t in = spec.in_channels * spec.in_height * spec.in_width;
    const size_t n = hidden_ + 1;
    for (size_t i = 1; i <= n; ++i) {
      const int64_t out = i < n ? widths[i - 1] : spec.classes;
      add_linear(params_, fc(i), in, out, gen);
      if (i < n && batch_norm_) add_batch_norm(params_, "bn_" + fc(i), out);
      in = out;
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = x.reshape({x.size(0), -1});  // (N, C·H·W)
    const size_t n = hidden_ + 1;
    int64_t in = -1;
    for (size_t i = 1; i <= n; ++i) {
      const std::string name = fc(i);
      const int64_t out = i < n ? o.active_width(name) : -1;
      if (o.trace) o.trace->inputs[name] = h;
      auto z = linear(params_, name, h, in, out, o.known_output(name));  // (N, out)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (i == n) return z;
      if (batch_norm_) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
      h = activation(z);
      if (o.unit_scale) {
        auto it = o.unit_scale->find(name);
        if (it != o.unit_scale->end()) h = h * it->second;
      }
      if (o.site_hook) h = o.site_hook(name, h);
      in = out;
    }
    return h;
  }

  std::vector<WidthSite> sites() const override {
    std::vector<WidthSite> out;
    const size_t n = hidden_ + 1;
    for (size_t i = 1; i < n; ++i) {
      WidthSite s;
      s.name = s.producer = fc(i);
      s.kind = WidthSite::Kind::Linear;
      s.norm = batch_norm_ ? "bn_" + fc(i) : "";
      s.consumer = fc(i + 1);
      s.width = params_.parameter(fc(i) + ".weight").size(0);
      out.push_back(s);
    }
    return out;
  }

  ArchSpec arch() const override {
    std::vector<int64_t> widths;
    for (size_t i = 1; i <= hidden_; ++i) widths.push_back(params_.parameter(fc(i) + ".weight").size(0));
    ArchSpec a = spec_;
    a.set_ints("widths", widths);
    return a;
  }

 private:
  static std::string fc(size_t i) { return "fc" + std::to_string(i); }
  ArchSpec spec_;
  size_t hidden_;
  bool batch_norm_;
};

std::string fc_name(size_t i) { return "fc" + std::to_string(i); }

class MlpFamily final : public ModelFamily {
 public:
  std::string name() const override { return "mlp"; }
  std::vector<FamilySetting> settings() const override {
    return {{"widths", FamilySetting::Type::Ints, "256,256", "hidden widths of fc1..fc(N-1)"},
            {"batch_norm", FamilySetting::Type::Flag, "false", "batch-norm after every hidden layer"}};
  }
  void validate(const ArchSpec& spec) const override {
    for (auto w : spec.ints("widths")) {
      SPROUT_CHECK(w > 0, ConfigError, "model.widths: every width must be > 0, got ", spec.params.at("widths"));
    }
    spec.flag("batch_norm");
  }
  std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<Mlp>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override {
    std::string s = concat("mlp ", spec.in_channels * spec.in_height * spec.in_width);
    for (auto w : spec.ints("widths")) s += concat("-", w);
    return s + concat("-", spec.classes, spec.flag("batch_norm") ? " bn" : "");
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    const auto widths = spec.ints("widths");
    for (size_t i = 0; i < widths.size(); ++i) out.emplace_back(fc_name(i + 1), widths[i]);
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& given) const override {
    auto widths = spec.ints("widths");
    for (size_t i = 0; i < widths.size(); ++i) {
      if (auto it = given.find(fc_name(i + 1)); it != given.end()) widths[i] = it->second;
    }
    spec.set_ints("widths", widths);
    return spec;
  }
  std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const override {
    return dense_layers(spec.in_channels * spec.in_height * spec.in_width, spec.ints("widths"), spec.classes,
                        spec.flag("batch_norm"), active, 1);
  }
  std::string width_options(const ArchSpec& spec) const override {
    return "--model.widths " + spec.params.at("widths");
  }
};

}  // namespace

std::vector<LayerCost> dense_layers(int64_t in, const std::vector<int64_t>& widths, int64_t classes, bool batch_norm,
                                    const std::map<std::string, int64_t>& active, int64_t first) {
  std::vector<LayerCost> out;
  for (size_t i = 0; i <= widths.size(); ++i) {
    const std::string name = fc_name(first + i);
    const bool hidden = i < widths.size();
    const int64_t full = hidden ? widths[i] : classes;
    auto it = active.find(name);
    const int64_t units = hidden && it != active.end() ? it->second : full;
    LayerCost l;
    l.module = name;
    l.in = in;
    l.out = units;
    l.macs = in * units;
    l.weights = static_cast<double>(in) * units + units;
    if (hidden && batch_norm) {
      l.norm = 2.0 * units;
      l.norm_buffers = 2.0 * units + 1;
    }
    l.activations = 3.0 * units;  // pre-activation, activation, its gradient
    out.push_back(l);
    in = units;
  }
  return out;
}

std::unique_ptr<ModelFamily> make_mlp_family() { return std::make_unique<MlpFamily>(); }

}  // namespace sprout::growth
