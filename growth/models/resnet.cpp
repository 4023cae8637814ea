// resnet: a pre-activation Wide ResNet (Zagoruyko & Komodakis) for small images.
//
//   stem: 3×3 conv, 16 channels
//   3 stages of n blocks, 16k / 32k / 64k channels (k = model.widen), depth = 6n + 4;
//   the first block of stages 2 and 3 has stride 2. Block b:
//     o = act(bn1(x));  h = conv1(o, stride) -> bn2 -> act -> conv2;  x = h + shortcut
//     shortcut = x, or conv1x1(o, stride) where the shape changes (PyTorch WRN's rule)
//   head: act(bn_final(x)) -> global average pool -> fc
//
// Modules: stem, block<b>.{bn1,conv1,bn2,conv2,shortcut}, bn_final, fc (b = 1..3n, over
// all stages). Width sites: every block's inner width — site block<b>.conv1, producer
// conv1 (stride 1 or 2), norm bn2, consumer conv2 — the width GradMax grows in Wide
// ResNets. model.inner gives them (default: each block's stage width). The stage widths
// (the residual stream) are fixed.
//
// Slimming: the inner sites' batch-norms switch statistics per width; the residual
// stream's (bn1, bn_final) keep one set, as the stream's width does not change.
#include <cmath>

#include "growth/models/family.h"
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

struct Layout {
  int64_t blocks_per_stage = 0;
  std::vector<int64_t> stage;   // per block: its stage's width
  std::vector<int64_t> stride;  // per block
  std::vector<int64_t> in;      // per block: input channels
  int64_t stem = 16;
  int64_t out = 0;  // channels into the head
};

Layout layout_of(const ArchSpec& spec) {
  Layout l;
  l.blocks_per_stage = (spec.integer("depth") - 4) / 6;
  const int64_t k = spec.integer("widen");
  int64_t in = l.stem;
  for (int64_t s = 0; s < 3; ++s) {
    for (int64_t b = 0; b < l.blocks_per_stage; ++b) {
      l.stage.push_back((16 << s) * k);
      l.stride.push_back(s > 0 && b == 0 ? 2 : 1);
      l.in.push_back(in);
      in = (16 << s) * k;
    }
  }
  l.out = in;
  return l;
}

std::string block(size_t b) { return "block" + std::to_string(b + 1); }
int64_t down(int64_t side, int64_t stride) { return (side - 1) / stride + 1; }  // 3×3 pad 1 or 1×1 pad 0

class ResNet final : public Model {
 public:
  ResNet(const ArchSpec& spec, uint64_t seed) : spec_(spec), layout_(layout_of(spec)) {
    auto gen = compat::make_generator(seed);
    const auto inner = spec.ints("inner");
    add_conv(params_, "stem", spec.in_channels, layout_.stem, 3, gen);
    for (size_t b = 0; b < inner.size(); ++b) {
      const std::string m = block(b);
      add_batch_norm(params_, m + ".bn1", layout_.in[b]);
      add_conv(params_, m + ".conv1", layout_.in[b], inner[b], 3, gen);
      add_batch_norm(params_, m + ".bn2", inner[b]);
      add_conv(params_, m + ".conv2", inner[b], layout_.stage[b], 3, gen);
      if (projects(b)) add_conv(params_, m + ".shortcut", layout_.in[b], layout_.stage[b], 1, gen);
    }
    add_batch_norm(params_, "bn_final", layout_.out);
    add_linear(params_, "fc", layout_.out, spec.classes, gen);
  }

  torch::Tensor first_site_input(const torch::Tensor& x) override {
    return activation(batch_norm(params_, block(0) + ".bn1", conv3x3(params_, "stem", x), false));
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = conv3x3(params_, "stem", x);
    for (size_t b = 0; b < layout_.stage.size(); ++b) {
      const std::string m = block(b), site = m + ".conv1";
      const auto pre = activation(batch_norm(params_, m + ".bn1", h, o.train));
      const auto shortcut = projects(b) ? conv1x1(params_, m + ".shortcut", pre, layout_.stride[b]) : h;
      const int64_t units = o.active_width(site);
      if (o.trace) o.trace->inputs[site] = pre;
      auto z = conv3x3(params_, site, pre, -1, units, o.known_output(site), layout_.stride[b]);
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[site] = z;
      }
      auto a = activation(batch_norm(params_, m + ".bn2", z, o.train, units, o.norm_stats));
      if (o.unit_scale) {
        auto it = o.unit_scale->find(site);
        if (it != o.unit_scale->end()) a = a * it->second.view({1, -1, 1, 1});
      }
      if (o.site_hook) a = o.site_hook(site, a);
      if (o.trace) o.trace->inputs[m + ".conv2"] = a;
      auto y = conv3x3(params_, m + ".conv2", a, units, -1);
      if (o.trace) {
        y.retain_grad();
        o.trace->outputs[m + ".conv2"] = y;
      }
      h = y + shortcut;
    }
    h = activation(batch_norm(params_, "bn_final", h, o.train)).mean({2, 3});  // (N, C)
    if (o.trace) o.trace->inputs["fc"] = h;
    auto logits = linear(params_, "fc", h);
    if (o.trace) {
      logits.retain_grad();
      o.trace->outputs["fc"] = logits;
    }
    return logits;
  }

  std::vector<WidthSite> sites() const override {
    std::vector<WidthSite> out;
    for (size_t b = 0; b < layout_.stage.size(); ++b) {
      WidthSite s;
      s.name = s.producer = block(b) + ".conv1";
      s.kind = WidthSite::Kind::Conv;
      s.norm = block(b) + ".bn2";
      s.consumer = block(b) + ".conv2";
      s.stride = layout_.stride[b];
      s.width = params_.parameter(s.producer + ".weight").size(0);
      out.push_back(s);
    }
    return out;
  }

  ArchSpec arch() const override {
    std::vector<int64_t> inner;
    for (size_t b = 0; b < layout_.stage.size(); ++b) {
      inner.push_back(params_.parameter(block(b) + ".conv1.weight").size(0));
    }
    ArchSpec a = spec_;
    a.set_ints("inner", inner);
    return a;
  }

 private:
  bool projects(size_t b) const { return layout_.in[b] != layout_.stage[b] || layout_.stride[b] != 1; }
  ArchSpec spec_;
  Layout layout_;
};

class ResNetFamily final : public ModelFamily {
 public:
  std::string name() const override { return "resnet"; }
  std::vector<FamilySetting> settings() const override {
    return {{"depth", FamilySetting::Type::Integer, "10", "layers, 6n+4 (n blocks per stage)"},
            {"widen", FamilySetting::Type::Integer, "1", "widening factor k: stages of 16k, 32k, 64k channels"},
            {"inner", FamilySetting::Type::Ints, "",
             "every block's inner width, the growable sites block<b>.conv1 (empty: the stage widths)"}};
  }
  ArchSpec normalise(ArchSpec spec) const override {
    if (!spec.ints("inner").empty() || !depth_ok(spec)) return spec;
    spec.set_ints("inner", layout_of(spec).stage);  // the stage widths, written out
    return spec;
  }
  void validate(const ArchSpec& spec) const override {
    const int64_t depth = spec.integer("depth"), widen = spec.integer("widen");
    SPROUT_CHECK(depth_ok(spec), ConfigError, "model.depth: ", depth, " is not 6n+4 with n >= 1 (10, 16, 22, 28, ...)");
    SPROUT_CHECK(depth <= 6 * 64 + 4, ConfigError, "model.depth: ", depth, " is above ", 6 * 64 + 4);
    SPROUT_CHECK(widen >= 1 && widen <= 64, ConfigError, "model.widen: ", widen, " must be in [1, 64]");
    const auto l = layout_of(spec);
    const auto inner = spec.ints("inner");
    SPROUT_CHECK(inner.size() == l.stage.size(), ConfigError, "model.inner: '", spec.params.at("inner"), "' has ",
                 inner.size(), " widths; depth ", depth, " has ", l.stage.size(), " blocks");
    for (auto w : inner) {
      SPROUT_CHECK(w > 0, ConfigError, "model.inner: every width must be > 0, got ", spec.params.at("inner"));
    }
  }
  std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<ResNet>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override {
    const auto l = layout_of(spec);
    std::string s = concat("resnet-", spec.integer("depth"), "-", spec.integer("widen"), " ", spec.in_channels, "x",
                           spec.in_height, "x", spec.in_width, " stages ", l.stage.front(), "-",
                           l.stage[l.blocks_per_stage], "-", l.stage.back());
    const auto inner = spec.ints("inner");
    if (inner != l.stage) s += " inner " + join_ints(inner);
    return s + concat(" -> ", spec.classes);
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    const auto inner = spec.ints("inner");
    for (size_t b = 0; b < inner.size(); ++b) out.emplace_back(block(b) + ".conv1", inner[b]);
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& widths) const override {
    auto inner = spec.ints("inner");
    for (size_t b = 0; b < inner.size(); ++b) {
      if (auto it = widths.find(block(b) + ".conv1"); it != widths.end()) inner[b] = it->second;
    }
    spec.set_ints("inner", inner);
    return spec;
  }
  std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const override {
    const auto l = layout_of(spec);
    const auto inner = spec.ints("inner");
    std::vector<LayerCost> out;
    int64_t h = spec.in_height, w = spec.in_width;
    auto conv = [&](const std::string& name, int64_t in, int64_t units, int64_t k, int64_t oh, int64_t ow, bool norm) {
      LayerCost c;
      c.module = name;
      c.in = in;
      c.out = units;
      c.macs = in * units * k * k * oh * ow;
      c.weights = static_cast<double>(in) * units * k * k + units;
      if (norm) {
        c.norm = 2.0 * units;
        c.norm_buffers = 2.0 * units + 1;
      }
      c.activations = 4.0 * units * oh * ow;  // output, normalised, activated, residual sum
      out.push_back(c);
    };
    conv("stem", spec.in_channels, l.stem, 3, h, w, false);
    for (size_t b = 0; b < inner.size(); ++b) {
      const std::string site = block(b) + ".conv1";
      auto it = active.find(site);
      const int64_t units = it == active.end() ? inner[b] : it->second;
      const int64_t oh = down(h, l.stride[b]), ow = down(w, l.stride[b]);
      conv(site, l.in[b], units, 3, oh, ow, true);
      conv(block(b) + ".conv2", units, l.stage[b], 3, oh, ow, true);  // the next bn1 (or bn_final) on its output
      if (l.in[b] != l.stage[b] || l.stride[b] != 1) conv(block(b) + ".shortcut", l.in[b], l.stage[b], 1, oh, ow, false);
      h = oh;
      w = ow;
    }
    const auto head = dense_layers(l.out, {}, spec.classes, false, active);
    out.push_back(head.front());
    out.back().module = "fc";
    out.back().norm = 0;
    // bn1 of block 1 sits on the stem's output: counted with conv2's norms shifted by one.
    out.front().norm = 2.0 * l.stem;
    out.front().norm_buffers = 2.0 * l.stem + 1;
    return out;
  }
  std::string width_options(const ArchSpec& spec) const override {
    return concat("--model.depth ", spec.integer("depth"), " --model.widen ", spec.integer("widen"), " --model.inner ",
                  spec.params.at("inner"));
  }

 private:
  static bool depth_ok(const ArchSpec& spec) {
    const int64_t depth = spec.integer("depth");
    return depth >= 10 && (depth - 4) % 6 == 0;
  }
};

}  // namespace

std::unique_ptr<ModelFamily> make_resnet_family() { return std::make_unique<ResNetFamily>(); }

}  // namespace sprout::growth
