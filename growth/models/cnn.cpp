// CNN: conv1 -> [bn_conv1] -> act -> maxpool2 -> ... -> convK block -> flatten
//      -> fc1 -> [bn_fc1] -> act -> ... -> fcN (logits).
// Site convK's consumer is fc1 across the flatten: channel c owns fc1's input columns
// [c·H·W, (c+1)·H·W) where H×W is the pooled feature map.
#include "growth/models/family.h"
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

class Cnn final : public Model {
 public:
  Cnn(const ArchSpec& spec, uint64_t seed)
      : spec_(spec),
        convs_(spec.ints("conv").size()),
        hidden_(spec.ints("widths").size()),
        batch_norm_(spec.flag("batch_norm")),
        feature_area_(feature_side(spec.in_height, convs_) * feature_side(spec.in_width, convs_)) {
    auto gen = compat::make_generator(seed);
    const auto channels = spec.ints("conv"), widths = spec.ints("widths");
    int64_t in = spec.in_channels;
    for (size_t i = 1; i <= convs_; ++i) {
      add_conv3x3(params_, conv(i), in, channels[i - 1], gen);
      if (batch_norm_) add_batch_norm(params_, "bn_" + conv(i), channels[i - 1]);
      in = channels[i - 1];
    }
    in *= feature_area_;
    const size_t n = hidden_ + 1;
    for (size_t i = 1; i <= n; ++i) {
      const int64_t out = i < n ? widths[i - 1] : spec.classes;
      add_linear(params_, fc(i), in, out, gen);
      if (i < n && batch_norm_) add_batch_norm(params_, "bn_" + fc(i), out);
      in = out;
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = x;  // (N, C, H, W)
    int64_t in = -1;
    for (size_t i = 1; i <= convs_; ++i) {
      const std::string name = conv(i);
      const int64_t out = o.active_width(name);
      if (o.trace) o.trace->inputs[name] = h;
      auto z = conv3x3(params_, name, h, in, out, o.known_output(name));  // (N, out, H, W)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (batch_norm_) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
      h = scale(o, name, activation(z), 4);
      h = at::max_pool2d(h, {2, 2});  // (N, out, H/2, W/2)
      if (o.site_hook) h = o.site_hook(name, h);
      in = out;
    }
    h = h.reshape({h.size(0), -1});  // (N, C·H'·W'), channel-major
    in = h.size(1);
    const size_t n = hidden_ + 1;
    for (size_t i = 1; i <= n; ++i) {
      const std::string name = fc(i);
      const int64_t out = i < n ? o.active_width(name) : -1;
      if (o.trace) o.trace->inputs[name] = h;
      auto z = linear(params_, name, h, in, out, o.known_output(name));
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (i == n) return z;
      if (batch_norm_) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
      h = scale(o, name, activation(z), 2);
      if (o.site_hook) h = o.site_hook(name, h);
      in = out;
    }
    return h;
  }

  std::vector<WidthSite> sites() const override {
    std::vector<WidthSite> out;
    for (size_t i = 1; i <= convs_; ++i) {
      WidthSite s;
      s.name = s.producer = conv(i);
      s.kind = WidthSite::Kind::Conv;
      s.norm = batch_norm_ ? "bn_" + conv(i) : "";
      s.pooled = true;
      if (i < convs_) {
        s.consumer = conv(i + 1);
      } else {
        s.consumer = fc(1);
        s.consumer_group = feature_area_;
      }
      s.width = params_.parameter(conv(i) + ".weight").size(0);
      out.push_back(s);
    }
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
    std::vector<int64_t> channels, widths;
    for (size_t i = 1; i <= convs_; ++i) channels.push_back(params_.parameter(conv(i) + ".weight").size(0));
    for (size_t i = 1; i <= hidden_; ++i) widths.push_back(params_.parameter(fc(i) + ".weight").size(0));
    ArchSpec a = spec_;
    a.set_ints("conv", channels);
    a.set_ints("widths", widths);
    return a;
  }

 private:
  static std::string conv(size_t i) { return "conv" + std::to_string(i); }
  static std::string fc(size_t i) { return "fc" + std::to_string(i); }
  // Multiplies the activation by the site's unit importances (broadcast over channels).
  static torch::Tensor scale(const ForwardOptions& o, const std::string& site, torch::Tensor h, int dims) {
    if (!o.unit_scale) return h;
    auto it = o.unit_scale->find(site);
    if (it == o.unit_scale->end()) return h;
    return dims == 4 ? h * it->second.view({1, -1, 1, 1}) : h * it->second;
  }
  ArchSpec spec_;
  size_t convs_, hidden_;
  bool batch_norm_;
  int64_t feature_area_;  // H·W of the last pooled map
};

std::string conv_name(size_t i) { return "conv" + std::to_string(i); }

class CnnFamily final : public ModelFamily {
 public:
  std::string name() const override { return "cnn"; }
  std::vector<FamilySetting> settings() const override {
    return {{"conv", FamilySetting::Type::Ints, "32,64", "channels of conv1..convK (3x3 conv, 2x2 max-pool each)"},
            {"widths", FamilySetting::Type::Ints, "256,256", "hidden widths of fc1..fc(N-1)"},
            {"batch_norm", FamilySetting::Type::Flag, "false", "batch-norm after every hidden layer"}};
  }
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
  }
  std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<Cnn>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override {
    const auto channels = spec.ints("conv");
    std::string s = concat("cnn ", spec.in_channels, "x", spec.in_height, "x", spec.in_width, " ");
    for (size_t i = 0; i < channels.size(); ++i) s += concat(i ? "-" : "", "c", channels[i]);
    s += concat(" ", channels.back() * feature_side(spec.in_height, channels.size()) *
                         feature_side(spec.in_width, channels.size()));
    for (auto w : spec.ints("widths")) s += concat("-", w);
    return s + concat("-", spec.classes, spec.flag("batch_norm") ? " bn" : "");
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    const auto channels = spec.ints("conv"), widths = spec.ints("widths");
    for (size_t i = 0; i < channels.size(); ++i) out.emplace_back(conv_name(i + 1), channels[i]);
    for (size_t i = 0; i < widths.size(); ++i) out.emplace_back("fc" + std::to_string(i + 1), widths[i]);
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& given) const override {
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
    const auto channels = spec.ints("conv");
    for (size_t i = 0; i < channels.size(); ++i) {
      const std::string name = conv_name(i + 1);
      auto it = active.find(name);
      const int64_t units = it == active.end() ? channels[i] : it->second;
      LayerCost l;
      l.module = name;
      l.in = in;
      l.out = units;
      l.macs = in * units * 9 * h * w;  // padding 1: the output is h×w
      l.weights = static_cast<double>(in) * units * 9 + units;
      if (bn) {
        l.norm = 2.0 * units;
        l.norm_buffers = 2.0 * units + 1;
      }
      l.activations = 3.0 * units * h * w + static_cast<double>(units) * (h / 2) * (w / 2);  // and the pooled map
      out.push_back(l);
      in = units;
      h /= 2;  // 2×2 max-pool
      w /= 2;
    }
    auto head = dense_layers(in * h * w, spec.ints("widths"), spec.classes, bn, active);
    out.insert(out.end(), head.begin(), head.end());
    return out;
  }
  std::string width_options(const ArchSpec& spec) const override {
    return "--model.conv " + spec.params.at("conv") + " --model.widths " + spec.params.at("widths");
  }
};

}  // namespace

std::unique_ptr<ModelFamily> make_cnn_family() { return std::make_unique<CnnFamily>(); }

}  // namespace sprout::growth
