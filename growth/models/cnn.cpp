// CNN: conv1 -> [bn_conv1] -> act -> maxpool2 -> ... -> convK block -> flatten
//      -> fc1 -> [bn_fc1] -> act -> ... -> fcN (logits).
// Site convK's consumer is fc1 across the flatten: channel c owns fc1's input columns
// [c·H·W, (c+1)·H·W) where H×W is the pooled feature map.
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

class Cnn final : public Model {
 public:
  Cnn(const ArchSpec& spec, uint64_t seed) : spec_(spec) {
    auto gen = compat::make_generator(seed);
    int64_t in = spec.in_channels;
    for (size_t i = 1; i <= spec.conv.size(); ++i) {
      add_conv3x3(params_, conv(i), in, spec.conv[i - 1], gen);
      if (spec.batch_norm) add_batch_norm(params_, "bn_" + conv(i), spec.conv[i - 1]);
      in = spec.conv[i - 1];
    }
    in *= spec.feature_height() * spec.feature_width();
    const size_t n = spec.widths.size() + 1;
    for (size_t i = 1; i <= n; ++i) {
      const int64_t out = i < n ? spec.widths[i - 1] : spec.classes;
      add_linear(params_, fc(i), in, out, gen);
      if (i < n && spec.batch_norm) add_batch_norm(params_, "bn_" + fc(i), out);
      in = out;
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = x;  // (N, C, H, W)
    int64_t in = -1;
    for (size_t i = 1; i <= spec_.conv.size(); ++i) {
      const std::string name = conv(i);
      const int64_t out = active(o, name);
      if (o.trace) o.trace->inputs[name] = h;
      auto z = conv3x3(params_, name, h, in, out, known(o, name));  // (N, out, H, W)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (spec_.batch_norm) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
      h = scale(o, name, activation(z), 4);
      h = at::max_pool2d(h, {2, 2});  // (N, out, H/2, W/2)
      if (o.site_hook) h = o.site_hook(name, h);
      in = out;
    }
    h = h.reshape({h.size(0), -1});  // (N, C·H'·W'), channel-major
    in = h.size(1);
    const size_t n = spec_.widths.size() + 1;
    for (size_t i = 1; i <= n; ++i) {
      const std::string name = fc(i);
      const int64_t out = i < n ? active(o, name) : -1;
      if (o.trace) o.trace->inputs[name] = h;
      auto z = linear(params_, name, h, in, out, known(o, name));
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (i == n) return z;
      if (spec_.batch_norm) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
      h = scale(o, name, activation(z), 2);
      if (o.site_hook) h = o.site_hook(name, h);
      in = out;
    }
    return h;
  }

  std::vector<WidthSite> sites() const override {
    std::vector<WidthSite> out;
    for (size_t i = 1; i <= spec_.conv.size(); ++i) {
      WidthSite s;
      s.name = s.producer = conv(i);
      s.kind = WidthSite::Kind::Conv;
      s.norm = spec_.batch_norm ? "bn_" + conv(i) : "";
      s.pooled = true;
      if (i < spec_.conv.size()) {
        s.consumer = conv(i + 1);
      } else {
        s.consumer = fc(1);
        s.consumer_group = spec_.feature_height() * spec_.feature_width();
      }
      s.width = params_.parameter(conv(i) + ".weight").size(0);
      out.push_back(s);
    }
    const size_t n = spec_.widths.size() + 1;
    for (size_t i = 1; i < n; ++i) {
      WidthSite s;
      s.name = s.producer = fc(i);
      s.kind = WidthSite::Kind::Linear;
      s.norm = spec_.batch_norm ? "bn_" + fc(i) : "";
      s.consumer = fc(i + 1);
      s.width = params_.parameter(fc(i) + ".weight").size(0);
      out.push_back(s);
    }
    return out;
  }

  ArchSpec arch() const override {
    ArchSpec a = spec_;
    for (size_t i = 0; i < a.conv.size(); ++i) a.conv[i] = params_.parameter(conv(i + 1) + ".weight").size(0);
    for (size_t i = 0; i < a.widths.size(); ++i) a.widths[i] = params_.parameter(fc(i + 1) + ".weight").size(0);
    return a;
  }

 private:
  static std::string conv(size_t i) { return "conv" + std::to_string(i); }
  static std::string fc(size_t i) { return "fc" + std::to_string(i); }
  static int64_t active(const ForwardOptions& o, const std::string& site) {
    if (!o.active) return -1;
    auto it = o.active->find(site);
    return it == o.active->end() ? -1 : it->second;
  }
  static torch::Tensor known(const ForwardOptions& o, const std::string& module) {
    if (!o.known_outputs) return {};
    auto it = o.known_outputs->find(module);
    return it == o.known_outputs->end() ? torch::Tensor() : it->second;
  }
  // Multiplies the activation by the site's unit importances (broadcast over channels).
  static torch::Tensor scale(const ForwardOptions& o, const std::string& site, torch::Tensor h, int dims) {
    if (!o.unit_scale) return h;
    auto it = o.unit_scale->find(site);
    if (it == o.unit_scale->end()) return h;
    return dims == 4 ? h * it->second.view({1, -1, 1, 1}) : h * it->second;
  }
  ArchSpec spec_;
};

}  // namespace

std::unique_ptr<Model> make_cnn(const ArchSpec& spec, uint64_t seed) { return std::make_unique<Cnn>(spec, seed); }

}  // namespace sprout::growth
