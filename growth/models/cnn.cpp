// CNN: conv1 -> [bn_conv1] -> act -> maxpool2 -> ... -> convK block -> flatten
//      -> fc1 -> [bn_fc1] -> act -> ... -> fcN (logits).
// Site convK's consumer is fc1 across the flatten: channel c owns fc1's input columns
// [c·H·W, (c+1)·H·W) where H×W is the pooled feature map.
// Depth growth inserts identity layers after a hidden layer (growth/models/identity_layers.h):
// convK_j, a 3×3 conv -> [bn] -> act without pooling (the map keeps its size), or fcK_j.
#include "growth/models/depth_family.h"
#include "growth/models/family.h"
#include "growth/models/identity_layers.h"
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

// The side of the map after `blocks` 2×2 max-pools.
int64_t feature_side(int64_t side, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) side /= 2;
  return side;
}

// The hidden layers in the order model.inserted counts them: conv1..convK, fc1..fc(N-1).
std::vector<std::pair<std::string, int64_t>> hidden_layers(const ArchSpec& spec) {
  std::vector<std::pair<std::string, int64_t>> out;
  const auto channels = spec.ints("conv"), widths = spec.ints("widths");
  for (size_t i = 0; i < channels.size(); ++i) out.emplace_back("conv" + std::to_string(i + 1), channels[i]);
  for (size_t i = 0; i < widths.size(); ++i) out.emplace_back("fc" + std::to_string(i + 1), widths[i]);
  return out;
}

class Cnn final : public Model, public DepthModel {
 public:
  Cnn(const ArchSpec& spec, uint64_t seed)
      : spec_(spec),
        convs_(spec.ints("conv").size()),
        head_("fc" + std::to_string(spec.ints("widths").size() + 1)),
        batch_norm_(spec.flag("batch_norm")),
        feature_area_(feature_side(spec.in_height, convs_) * feature_side(spec.in_width, convs_)) {
    set_chain(spec);
    auto gen = compat::make_generator(seed);
    int64_t in = spec.in_channels;
    for (const auto& l : conv_chain_) {
      add_conv3x3(params_, l.name, in, l.width, gen);
      if (batch_norm_) add_batch_norm(params_, "bn_" + l.name, l.width);
      in = l.width;
    }
    in *= feature_area_;
    for (const auto& l : fc_chain_) {
      add_linear(params_, l.name, in, l.width, gen);
      if (batch_norm_) add_batch_norm(params_, "bn_" + l.name, l.width);
      in = l.width;
    }
    add_linear(params_, head_, in, spec.classes, gen);
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = x;  // (N, C, H, W)
    int64_t in = -1;
    for (const auto& l : conv_chain_) {
      const std::string& name = l.name;
      const int64_t out = o.active_width(name);
      if (o.trace) o.trace->inputs[name] = h;
      auto z = conv3x3(params_, name, h, in, out, o.known_output(name));  // (N, out, H, W)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (batch_norm_) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
      h = scale(o, name, activation(z), 4);
      if (l.inserted == 0) h = at::max_pool2d(h, {2, 2});  // (N, out, H/2, W/2); inserted layers keep the map
      if (o.site_hook) h = o.site_hook(name, h);
      in = out;
    }
    h = h.reshape({h.size(0), -1});  // (N, C·H'·W'), channel-major
    in = h.size(1);
    for (size_t i = 0; i <= fc_chain_.size(); ++i) {
      const bool head = i == fc_chain_.size();
      const std::string& name = head ? head_ : fc_chain_[i].name;
      const int64_t out = head ? -1 : o.active_width(name);
      if (o.trace) o.trace->inputs[name] = h;
      auto z = linear(params_, name, h, in, out, o.known_output(name));
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (head) return z;
      if (batch_norm_) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
      h = scale(o, name, activation(z), 2);
      if (o.site_hook) h = o.site_hook(name, h);
      in = out;
    }
    return h;
  }

  std::vector<WidthSite> sites() const override {
    std::vector<WidthSite> out;
    const std::string first_fc = fc_chain_.empty() ? head_ : fc_chain_.front().name;
    for (size_t i = 0; i < conv_chain_.size(); ++i) {
      WidthSite s;
      s.name = s.producer = conv_chain_[i].name;
      s.kind = WidthSite::Kind::Conv;
      s.norm = batch_norm_ ? "bn_" + s.name : "";
      s.pooled = conv_chain_[i].inserted == 0;
      if (i + 1 < conv_chain_.size()) {
        s.consumer = conv_chain_[i + 1].name;
      } else {
        s.consumer = first_fc;
        s.consumer_group = feature_area_;
      }
      s.width = params_.parameter(s.name + ".weight").size(0);
      out.push_back(s);
    }
    for (size_t i = 0; i < fc_chain_.size(); ++i) {
      WidthSite s;
      s.name = s.producer = fc_chain_[i].name;
      s.kind = WidthSite::Kind::Linear;
      s.norm = batch_norm_ ? "bn_" + s.name : "";
      s.consumer = i + 1 < fc_chain_.size() ? fc_chain_[i + 1].name : head_;
      s.width = params_.parameter(s.name + ".weight").size(0);
      out.push_back(s);
    }
    return out;
  }

  ArchSpec arch() const override {
    std::vector<int64_t> channels, widths, inserted;
    for (const auto* chain : {&conv_chain_, &fc_chain_}) {
      for (const auto& l : *chain) {
        const int64_t w = params_.parameter(l.name + ".weight").size(0);
        if (l.inserted) {
          inserted.push_back(w);
        } else {
          (chain == &conv_chain_ ? channels : widths).push_back(w);
        }
      }
    }
    ArchSpec a = spec_;
    a.set_ints("conv", channels);
    a.set_ints("widths", widths);
    if (!inserted.empty() || a.params.count("inserted_widths")) a.set_ints("inserted_widths", inserted);
    return a;
  }

  void adopt(const ArchSpec& grown) override {
    spec_ = grown;
    set_chain(grown);
  }

 private:
  void set_chain(const ArchSpec& spec) {
    conv_chain_.clear();
    fc_chain_.clear();
    for (const auto& l : layer_chain(spec, hidden_layers(spec))) {
      (l.base < convs_ ? conv_chain_ : fc_chain_).push_back(l);
    }
  }
  // Multiplies the activation by the site's unit importances (broadcast over channels).
  static torch::Tensor scale(const ForwardOptions& o, const std::string& site, torch::Tensor h, int dims) {
    if (!o.unit_scale) return h;
    auto it = o.unit_scale->find(site);
    if (it == o.unit_scale->end()) return h;
    return dims == 4 ? h * it->second.view({1, -1, 1, 1}) : h * it->second;
  }
  ArchSpec spec_;
  size_t convs_;
  std::vector<ChainLayer> conv_chain_, fc_chain_;  // hidden and inserted layers, forward order
  std::string head_;
  bool batch_norm_;
  int64_t feature_area_;  // H·W of the last pooled map
};

std::string conv_name(size_t i) { return "conv" + std::to_string(i); }

class CnnFamily final : public ModelFamily, public IdentityLayerDepth {
 public:
  std::string name() const override { return "cnn"; }
  std::vector<FamilySetting> settings() const override {
    std::vector<FamilySetting> out = {
            {"conv", FamilySetting::Type::Ints, "32,64", "channels of conv1..convK (3x3 conv, 2x2 max-pool each)"},
            {"widths", FamilySetting::Type::Ints, "256,256", "hidden widths of fc1..fc(N-1)"},
            {"batch_norm", FamilySetting::Type::Flag, "false", "batch-norm after every hidden layer"}};
    for (auto& s : identity_layer_settings()) out.push_back(s);
    return out;
  }
  ArchSpec normalise(ArchSpec spec) const override { return normalise_identity_layers(spec); }
  void validate(const ArchSpec& spec) const override {
    const auto channels = spec.ints("conv");
    SPROUT_CHECK(!channels.empty(), ConfigError, "model.conv: a cnn needs at least one conv layer");
    for (auto c : channels) {
      SPROUT_CHECK(c > 0, ConfigError, "model.conv: every channel count must be > 0, got ", spec.params.at("conv"));
    }
    for (auto w : spec.ints("widths")) {
      SPROUT_CHECK(w > 0, ConfigError, "model.widths: every width must be > 0, got ", spec.params.at("widths"));
    }
    SPROUT_CHECK(feature_side(spec.in_height, channels.size()) >= 1 && feature_side(spec.in_width, channels.size()) >= 1,
                 ConfigError, "model.conv: ", channels.size(), " conv blocks halve a ", spec.in_height, "x",
                 spec.in_width, " input below 1x1");
    spec.flag("batch_norm");
    validate_identity_layers(spec, channels.size() + spec.ints("widths").size());
  }
  std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<Cnn>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override {
    const size_t convs = spec.ints("conv").size();
    const auto chain = layer_chain(spec, hidden_layers(spec));
    std::string s = concat("cnn ", spec.in_channels, "x", spec.in_height, "x", spec.in_width, " ");
    int64_t last = 0;
    for (const auto& l : chain) {
      if (l.base >= convs) continue;
      s += concat(l.name == "conv1" ? "" : "-", "c", l.width);
      last = l.width;
    }
    s += concat(" ", last * feature_side(spec.in_height, convs) * feature_side(spec.in_width, convs));
    for (const auto& l : chain) {
      if (l.base >= convs) s += concat("-", l.width);
    }
    return s + concat("-", spec.classes, spec.flag("batch_norm") ? " bn" : "");
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& l : layer_chain(spec, hidden_layers(spec))) out.emplace_back(l.name, l.width);
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& given) const override {
    spec = with_inserted_widths(spec, hidden_layers(spec), given);
    auto channels = spec.ints("conv"), widths = spec.ints("widths");
    auto set = [&](const std::string& name, int64_t& width) {
      if (auto it = given.find(name); it != given.end()) width = it->second;
    };
    for (size_t i = 0; i < channels.size(); ++i) set(conv_name(i + 1), channels[i]);
    for (size_t i = 0; i < widths.size(); ++i) set("fc" + std::to_string(i + 1), widths[i]);
    spec.set_ints("conv", channels);
    spec.set_ints("widths", widths);
    return spec;
  }
  std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const override {
    std::vector<LayerCost> out;
    int64_t in = spec.in_channels, h = spec.in_height, w = spec.in_width;
    const bool bn = spec.flag("batch_norm");
    const size_t convs = spec.ints("conv").size();
    std::vector<std::pair<std::string, int64_t>> dense;
    for (const auto& c : layer_chain(spec, hidden_layers(spec))) {
      auto it = active.find(c.name);
      const int64_t units = it == active.end() ? c.width : it->second;
      if (c.base >= convs) {
        dense.emplace_back(c.name, c.width);
        continue;
      }
      const bool pools = c.inserted == 0;  // an inserted layer keeps the map
      LayerCost l;
      l.module = c.name;
      l.in = in;
      l.out = units;
      l.macs = in * units * 9 * h * w;  // padding 1: the output is h×w
      l.weights = static_cast<double>(in) * units * 9 + units;
      if (bn) {
        l.norm = 2.0 * units;
        l.norm_buffers = 2.0 * units + 1;
      }
      // The output, normalised and activated, and the pooled map.
      l.activations = 3.0 * units * h * w + (pools ? static_cast<double>(units) * (h / 2) * (w / 2) : 0.0);
      out.push_back(l);
      in = units;
      if (pools) {
        h /= 2;  // 2×2 max-pool
        w /= 2;
      }
    }
    auto head = dense_layers(in * h * w, dense, "fc" + std::to_string(spec.ints("widths").size() + 1), spec.classes, bn,
                             active);
    out.insert(out.end(), head.begin(), head.end());
    return out;
  }
  std::string width_options(const ArchSpec& spec) const override {
    std::string s = "--model.conv " + spec.params.at("conv") + " --model.widths " + spec.params.at("widths");
    return s + identity_layer_options(spec);
  }

 protected:
  std::vector<std::pair<std::string, int64_t>> hidden_layers(const ArchSpec& spec) const override {
    return sprout::growth::hidden_layers(spec);
  }
};

}  // namespace

std::unique_ptr<ModelFamily> make_cnn_family() { return std::make_unique<CnnFamily>(); }

}  // namespace sprout::growth
