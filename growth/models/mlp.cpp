// MLP: flatten -> fc1 -> [bn_fc1] -> act -> ... -> fcN (logits).
// Depth growth inserts identity layers fcK_1, fcK_2, … after hidden layer fcK
// (growth/models/identity_layers.h); the head keeps its name fcN (N = hidden widths + 1).
#include "growth/models/depth_family.h"
#include "growth/models/family.h"
#include "growth/models/identity_layers.h"
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

std::string fc_name(size_t i) { return "fc" + std::to_string(i); }

// The hidden layers fc1..fc(N-1) with their widths (model.widths).
std::vector<std::pair<std::string, int64_t>> hidden_layers(const ArchSpec& spec) {
  std::vector<std::pair<std::string, int64_t>> out;
  const auto widths = spec.ints("widths");
  for (size_t i = 0; i < widths.size(); ++i) out.emplace_back(fc_name(i + 1), widths[i]);
  return out;
}

class Mlp final : public Model, public DepthModel {
 public:
  Mlp(const ArchSpec& spec, uint64_t seed)
      : spec_(spec),
        chain_(layer_chain(spec, hidden_layers(spec))),
        head_(fc_name(spec.ints("widths").size() + 1)),
        batch_norm_(spec.flag("batch_norm")) {
    auto gen = compat::make_generator(seed);
    int64_t in = spec.in_channels * spec.in_height * spec.in_width;
    for (const auto& l : chain_) {  // forward order
      add_linear(params_, l.name, in, l.width, gen);
      if (batch_norm_) add_batch_norm(params_, "bn_" + l.name, l.width);
      in = l.width;
    }
    add_linear(params_, head_, in, spec.classes, gen);
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = x.reshape({x.size(0), -1});  // (N, C·H·W)
    int64_t in = -1;
    for (size_t i = 0; i <= chain_.size(); ++i) {
      const bool head = i == chain_.size();
      const std::string& name = head ? head_ : chain_[i].name;
      const int64_t out = head ? -1 : o.active_width(name);
      if (o.trace) o.trace->inputs[name] = h;
      auto z = linear(params_, name, h, in, out, o.known_output(name));  // (N, out)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (head) return z;
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
    for (size_t i = 0; i < chain_.size(); ++i) {
      WidthSite s;
      s.name = s.producer = chain_[i].name;
      s.kind = WidthSite::Kind::Linear;
      s.norm = batch_norm_ ? "bn_" + s.name : "";
      s.consumer = i + 1 < chain_.size() ? chain_[i + 1].name : head_;
      s.width = params_.parameter(s.name + ".weight").size(0);
      out.push_back(s);
    }
    return out;
  }

  ArchSpec arch() const override {
    std::vector<int64_t> widths, inserted;
    for (const auto& l : chain_) {
      (l.inserted ? inserted : widths).push_back(params_.parameter(l.name + ".weight").size(0));
    }
    ArchSpec a = spec_;
    a.set_ints("widths", widths);
    if (!inserted.empty() || a.params.count("inserted_widths")) a.set_ints("inserted_widths", inserted);
    return a;
  }

  void adopt(const ArchSpec& grown) override {
    spec_ = grown;
    chain_ = layer_chain(grown, hidden_layers(grown));
  }

 private:
  ArchSpec spec_;
  std::vector<ChainLayer> chain_;  // the hidden layers and those inserted, forward order
  std::string head_;
  bool batch_norm_;
};

class MlpFamily final : public ModelFamily, public IdentityLayerDepth {
 public:
  std::string name() const override { return "mlp"; }
  std::vector<FamilySetting> settings() const override {
    std::vector<FamilySetting> out = {
        {"widths", FamilySetting::Type::Ints, "256,256", "hidden widths of fc1..fc(N-1)"},
        {"batch_norm", FamilySetting::Type::Flag, "false", "batch-norm after every hidden layer"}};
    for (auto& s : identity_layer_settings()) out.push_back(s);
    return out;
  }
  ArchSpec normalise(ArchSpec spec) const override { return normalise_identity_layers(spec); }
  void validate(const ArchSpec& spec) const override {
    for (auto w : spec.ints("widths")) {
      SPROUT_CHECK(w > 0, ConfigError, "model.widths: every width must be > 0, got ", spec.params.at("widths"));
    }
    spec.flag("batch_norm");
    validate_identity_layers(spec, spec.ints("widths").size());
  }
  std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<Mlp>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override {
    std::string s = concat("mlp ", spec.in_channels * spec.in_height * spec.in_width);
    for (const auto& l : layer_chain(spec, hidden_layers(spec))) s += concat("-", l.width);
    return s + concat("-", spec.classes, spec.flag("batch_norm") ? " bn" : "");
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& l : layer_chain(spec, hidden_layers(spec))) out.emplace_back(l.name, l.width);
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& given) const override {
    spec = with_inserted_widths(spec, hidden_layers(spec), given);
    auto widths = spec.ints("widths");
    for (size_t i = 0; i < widths.size(); ++i) {
      if (auto it = given.find(fc_name(i + 1)); it != given.end()) widths[i] = it->second;
    }
    spec.set_ints("widths", widths);
    return spec;
  }
  std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const override {
    return dense_layers(spec.in_channels * spec.in_height * spec.in_width, site_widths(spec),
                        fc_name(spec.ints("widths").size() + 1), spec.classes, spec.flag("batch_norm"), active);
  }
  std::string width_options(const ArchSpec& spec) const override {
    std::string s = "--model.widths " + spec.params.at("widths");
    return s + identity_layer_options(spec);
  }

 protected:
  std::vector<std::pair<std::string, int64_t>> hidden_layers(const ArchSpec& spec) const override {
    return sprout::growth::hidden_layers(spec);
  }
};

}  // namespace

std::vector<LayerCost> dense_layers(int64_t in, const std::vector<int64_t>& widths, int64_t classes, bool batch_norm,
                                    const std::map<std::string, int64_t>& active, int64_t first) {
  std::vector<std::pair<std::string, int64_t>> hidden;
  for (size_t i = 0; i < widths.size(); ++i) hidden.emplace_back(fc_name(first + i), widths[i]);
  return dense_layers(in, hidden, fc_name(first + widths.size()), classes, batch_norm, active);
}

std::vector<LayerCost> dense_layers(int64_t in, const std::vector<std::pair<std::string, int64_t>>& hidden,
                                    const std::string& head, int64_t classes, bool batch_norm,
                                    const std::map<std::string, int64_t>& active) {
  std::vector<LayerCost> out;
  for (size_t i = 0; i <= hidden.size(); ++i) {
    const bool is_hidden = i < hidden.size();
    const std::string name = is_hidden ? hidden[i].first : head;
    const int64_t full = is_hidden ? hidden[i].second : classes;
    auto it = active.find(name);
    const int64_t units = is_hidden && it != active.end() ? it->second : full;
    LayerCost l;
    l.module = name;
    l.in = in;
    l.out = units;
    l.macs = in * units;
    l.weights = static_cast<double>(in) * units + units;
    if (is_hidden && batch_norm) {
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
