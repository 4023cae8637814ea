// vit: a vision Transformer (Dosovitskiy et al.) for small images.
//
//   embed: non-overlapping patches of model.patch² pixels, each a linear map to model.dim
//   a class token and learned positional embeddings (T = patches + 1 tokens)
//   model.depth pre-LayerNorm blocks:  x += proj(attention(ln1(x)));  x += fc2(gelu(fc1(ln2(x))))
//     attention: model.heads heads of dimension dim/heads on qkv = linear(dim -> 3·dim)
//   head: LayerNorm, then a linear map of the class token
//
// Modules: embed, cls, pos, block<b>.{ln1,qkv,proj,ln2,fc1,fc2}, norm, head. Width sites:
// every block's MLP hidden width — site block<b>.fc1, producer fc1, consumer fc2, GELU
// between, over tokens — given by model.mlp (one width for all) or model.inner (one per
// block). The model width and the heads are fixed for now.
#include <cmath>

#include "growth/models/family.h"
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

std::string block(size_t b) { return "block" + std::to_string(b + 1); }

int64_t patches(const ArchSpec& s) {
  const int64_t p = s.integer("patch");
  return (s.in_height / p) * (s.in_width / p);
}

class Vit final : public Model {
 public:
  Vit(const ArchSpec& spec, uint64_t seed)
      : spec_(spec),
        dim_(spec.integer("dim")),
        heads_(spec.integer("heads")),
        patch_(spec.integer("patch")),
        blocks_(spec.ints("inner").size()) {
    auto gen = compat::make_generator(seed);
    const auto inner = spec.ints("inner");
    add_linear(params_, "embed", spec.in_channels * patch_ * patch_, dim_, gen);
    params_.add_parameter("cls", torch::zeros({1, 1, dim_}));
    params_.add_parameter("pos", at::normal(0.0, 0.02, {1, patches(spec) + 1, dim_}, gen));
    for (size_t b = 0; b < inner.size(); ++b) {
      const std::string m = block(b);
      add_layer_norm(params_, m + ".ln1", dim_);
      add_linear(params_, m + ".qkv", dim_, 3 * dim_, gen);
      add_linear(params_, m + ".proj", dim_, dim_, gen);
      add_layer_norm(params_, m + ".ln2", dim_);
      add_linear(params_, m + ".fc1", dim_, inner[b], gen);
      add_linear(params_, m + ".fc2", inner[b], dim_, gen);
    }
    add_layer_norm(params_, "norm", dim_);
    add_linear(params_, "head", dim_, spec.classes, gen);
  }

  torch::Tensor first_site_input(const torch::Tensor& x) override {
    auto h = tokens(x);
    h = h + attention(block(0), h);
    return layer_norm(params_, block(0) + ".ln2", h);
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = tokens(x);
    for (size_t b = 0; b < blocks_; ++b) {
      const std::string m = block(b), site = m + ".fc1";
      h = h + attention(m, h);
      const auto in = layer_norm(params_, m + ".ln2", h);  // (N, T, D)
      const int64_t units = o.active_width(site);
      if (o.trace) o.trace->inputs[site] = in;
      auto z = hidden(site, in, units, o);  // (N, T, units)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[site] = z;
      }
      auto a = at::gelu(z);
      if (o.unit_scale) {
        auto it = o.unit_scale->find(site);
        if (it != o.unit_scale->end()) a = a * it->second;
      }
      if (o.site_hook) a = o.site_hook(site, a.transpose(1, 2)).transpose(1, 2);  // units at dim 1
      if (o.trace) o.trace->inputs[m + ".fc2"] = a;
      auto y = linear(params_, m + ".fc2", a, units, -1);
      if (o.trace) {
        y.retain_grad();
        o.trace->outputs[m + ".fc2"] = y;
      }
      h = h + y;
    }
    const auto cls = layer_norm(params_, "norm", h).select(1, 0);  // (N, D)
    if (o.trace) o.trace->inputs["head"] = cls;
    auto logits = linear(params_, "head", cls);
    if (o.trace) {
      logits.retain_grad();
      o.trace->outputs["head"] = logits;
    }
    return logits;
  }

  std::vector<WidthSite> sites() const override {
    std::vector<WidthSite> out;
    for (size_t b = 0; b < blocks_; ++b) {
      WidthSite s;
      s.name = s.producer = block(b) + ".fc1";
      s.consumer = block(b) + ".fc2";
      s.activation = WidthSite::Activation::Gelu;
      s.tokens = true;
      s.width = params_.parameter(s.producer + ".weight").size(0);
      out.push_back(s);
    }
    return out;
  }

  ArchSpec arch() const override {
    std::vector<int64_t> inner;
    for (size_t b = 0; b < blocks_; ++b) {
      inner.push_back(params_.parameter(block(b) + ".fc1.weight").size(0));
    }
    ArchSpec a = spec_;
    a.set_ints("inner", inner);
    return a;
  }

 private:
  // Patches, embedding, class token and positions: (N, T, D).
  torch::Tensor tokens(const torch::Tensor& x) {
    const int64_t n = x.size(0);
    auto cols = at::im2col(x, {patch_, patch_}, {1, 1}, {0, 0}, {patch_, patch_});  // (N, C·p·p, P)
    auto e = linear(params_, "embed", cols.transpose(1, 2));                         // (N, P, D)
    auto cls = params_.parameter("cls").expand({n, 1, dim_});
    return at::cat({cls, e}, 1) + params_.parameter("pos");
  }

  torch::Tensor attention(const std::string& m, const torch::Tensor& h) {
    const int64_t n = h.size(0), t = h.size(1), hd = dim_ / heads_;
    auto qkv = linear(params_, m + ".qkv", layer_norm(params_, m + ".ln1", h))  // (N, T, 3D)
                   .view({n, t, 3, heads_, hd})
                   .permute({2, 0, 3, 1, 4});  // (3, N, heads, T, hd)
    auto q = qkv[0], k = qkv[1], v = qkv[2];
    auto w = at::softmax(at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)), -1);
    auto y = at::matmul(w, v).transpose(1, 2).reshape({n, t, dim_});  // (N, T, D)
    return linear(params_, m + ".proj", y);
  }

  // fc1 on its first `units` outputs; with a known prefix (the gate's probe) only the rest.
  torch::Tensor hidden(const std::string& site, const torch::Tensor& in, int64_t units, const ForwardOptions& o) {
    const torch::Tensor known = o.known_output(site);
    if (!known.defined()) return linear(params_, site, in, -1, units);
    const auto& w = params_.parameter(site + ".weight");
    const int64_t total = units < 0 ? w.size(0) : units, k = known.size(-1);
    if (k >= total) return known.narrow(-1, 0, total);
    const auto rest = at::linear(in, w.narrow(0, k, total - k), params_.parameter(site + ".bias").narrow(0, k, total - k));
    return at::cat({known, rest}, -1);
  }


  ArchSpec spec_;
  int64_t dim_, heads_, patch_;
  size_t blocks_;  // read once: forward and sites() run often
};

class VitFamily final : public ModelFamily {
 public:
  std::string name() const override { return "vit"; }
  std::vector<FamilySetting> settings() const override {
    return {{"depth", FamilySetting::Type::Integer, "4", "Transformer blocks"},
            {"dim", FamilySetting::Type::Integer, "64", "model width (the residual stream)"},
            {"heads", FamilySetting::Type::Integer, "4", "attention heads (dim divisible by heads)"},
            {"patch", FamilySetting::Type::Integer, "7", "patch side in pixels (divides the image sides)"},
            {"mlp", FamilySetting::Type::Integer, "128", "every block's MLP hidden width"},
            {"inner", FamilySetting::Type::Ints, "",
             "every block's MLP hidden width, the growable sites block<b>.fc1 (empty: model.mlp)"}};
  }
  ArchSpec normalise(ArchSpec spec) const override {
    const int64_t depth = spec.integer("depth");
    if (!spec.ints("inner").empty() || depth < 1 || depth > 256) return spec;
    spec.set_ints("inner", std::vector<int64_t>(static_cast<size_t>(depth), spec.integer("mlp")));
    return spec;
  }
  void validate(const ArchSpec& spec) const override {
    const int64_t depth = spec.integer("depth"), dim = spec.integer("dim"), heads = spec.integer("heads"),
                  patch = spec.integer("patch"), mlp = spec.integer("mlp");
    SPROUT_CHECK(depth >= 1 && depth <= 256, ConfigError, "model.depth: ", depth, " must be in [1, 256]");
    SPROUT_CHECK(dim >= 1 && dim <= (1 << 16), ConfigError, "model.dim: ", dim, " must be in [1, 65536]");
    SPROUT_CHECK(heads >= 1 && dim % heads == 0, ConfigError, "model.heads: ", heads, " must be >= 1 and divide model.dim ",
                 dim);
    SPROUT_CHECK(mlp >= 1, ConfigError, "model.mlp: ", mlp, " must be >= 1");
    SPROUT_CHECK(patch >= 1 && spec.in_height % patch == 0 && spec.in_width % patch == 0, ConfigError, "model.patch: ",
                 patch, " must divide the ", spec.in_height, "x", spec.in_width, " images");
    const auto inner = spec.ints("inner");
    SPROUT_CHECK(static_cast<int64_t>(inner.size()) == depth, ConfigError, "model.inner: '", spec.params.at("inner"),
                 "' has ", inner.size(), " widths; depth ", depth, " has ", depth, " blocks");
    for (auto w : inner) {
      SPROUT_CHECK(w > 0, ConfigError, "model.inner: every width must be > 0, got ", spec.params.at("inner"));
    }
  }
  std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<Vit>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override {
    std::string s = concat("vit ", spec.in_channels, "x", spec.in_height, "x", spec.in_width, " patch ",
                           spec.integer("patch"), " dim ", spec.integer("dim"), " heads ", spec.integer("heads"),
                           " depth ", spec.integer("depth"), " mlp ");
    const auto inner = spec.ints("inner");
    const bool uniform = std::all_of(inner.begin(), inner.end(), [&](int64_t w) { return w == inner.front(); });
    return s + (uniform ? std::to_string(inner.front()) : join_ints(inner)) + concat(" -> ", spec.classes);
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    const auto inner = spec.ints("inner");
    for (size_t b = 0; b < inner.size(); ++b) out.emplace_back(block(b) + ".fc1", inner[b]);
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& widths) const override {
    auto inner = spec.ints("inner");
    for (size_t b = 0; b < inner.size(); ++b) {
      if (auto it = widths.find(block(b) + ".fc1"); it != widths.end()) inner[b] = it->second;
    }
    spec.set_ints("inner", inner);
    return spec;
  }
  std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const override {
    const int64_t d = spec.integer("dim"), p = spec.integer("patch"), t = patches(spec) + 1;
    const int64_t pixels = spec.in_channels * p * p;
    std::vector<LayerCost> out;
    auto add = [&](const std::string& name, int64_t in, int64_t units, int64_t rows, double extra_params,
                   double activations) {
      LayerCost c;
      c.module = name;
      c.in = in;
      c.out = units;
      c.macs = in * units * rows;
      c.weights = static_cast<double>(in) * units + units + extra_params;
      c.activations = activations;
      out.push_back(c);
    };
    // embed: the class token and positions ride along; attention's products are counted
    // with proj (T·T·D for scores and for the weighted sum).
    add("embed", pixels, d, t - 1, static_cast<double>(d) + static_cast<double>(t) * d, 2.0 * t * d);
    const auto inner = spec.ints("inner");
    for (size_t b = 0; b < inner.size(); ++b) {
      const std::string site = block(b) + ".fc1";
      auto it = active.find(site);
      const int64_t units = it == active.end() ? inner[b] : it->second;
      add(block(b) + ".qkv", d, 3 * d, t, 2.0 * d, 2.0 * t * d + 3.0 * t * d);  // ln1, and q, k, v
      const int64_t heads = spec.integer("heads");
      add(block(b) + ".proj", d, d, t, 0, 2.0 * heads * t * t + 2.0 * t * d);  // scores, softmax, output
      out.back().macs += 2 * t * t * d;
      add(site, d, units, t, 2.0 * d, 2.0 * t * d + 2.0 * t * units);  // ln2; fc1 output and GELU
      add(block(b) + ".fc2", units, d, t, 0, 2.0 * t * d);              // output and residual sum
    }
    add("head", d, spec.classes, 1, 2.0 * d, 2.0 * t * d + spec.classes);  // the final LayerNorm
    return out;
  }
  std::string width_options(const ArchSpec& spec) const override {
    return concat("--model.dim ", spec.integer("dim"), " --model.inner ", spec.params.at("inner"));
  }
};

}  // namespace

std::unique_ptr<ModelFamily> make_vit_family() { return std::make_unique<VitFamily>(); }

}  // namespace sprout::growth
