// vit: a vision Transformer (Dosovitskiy et al.) for small images.
//
//   embed: non-overlapping patches of model.patch² pixels, each a linear map to model.dim
//   a class token and learned positional embeddings (T = patches + 1 tokens)
//   model.depth pre-LayerNorm blocks:  x += proj(attention(ln1(x)));  x += fc2(gelu(fc1(ln2(x))))
//     attention: H heads of dimension model.head_dim (default dim/heads) on
//     qkv = linear(dim -> H·3·head_dim), rows head-major: head h owns rows
//     [3h·hd, 3(h+1)·hd) = its q, k, v (so growing heads appends whole heads at the end)
//   head: LayerNorm, then a linear map of the class token
//
// Modules: embed, cls, pos, block<b>.{ln1,qkv,proj,ln2,fc1,fc2}, norm, head. Depth growth
// (growth/depth.h) appends block<depth+1> after the last block (before the final norm),
// with the last block's heads and MLP width, so no module is renamed. Width groups:
//  - inner sites: every block's MLP hidden width — site block<b>.fc1, producer fc1,
//    consumer fc2, GELU between, over tokens — given by model.mlp (one width for all) or
//    model.inner (one per block);
//  - heads groups block<b>.heads: a unit is one head (its q, k, v rows of qkv, its
//    head_dim columns of proj); model.block_heads (default model.heads for every block);
//  - the residual group "stream": the model width model.dim — embed rows, cls, pos, every
//    LayerNorm, the rows of proj and fc2, the columns of qkv, fc1 and head. The head
//    dimension stays what it was at construction when dim or the heads grow.
//
// Slimmable execution and adaptive width act on all three kinds (slimmable_groups()):
// ForwardOptions::active gives the stream's active width d, each block's active heads h and
// MLP units u, and forward() runs the narrow ViT those widths describe on views of the
// leading units — embed rows, cls and pos [:d]; every LayerNorm over d units with γ, β [:d];
// qkv rows of the first h heads (head dimension unchanged) and columns [:d]; proj rows [:d]
// and the columns of those heads; fc1 [:u, :d], fc2 [:d, :u]; head columns [:d].
// ForwardOptions::unit_scale multiplies, per group:
//  - block<b>.fc1: the GELU output (one value per unit);
//  - block<b>.heads: each head's attention output before proj (one value per head), so a
//    head scaled by 0 is that head removed;
//  - stream: everything written into the stream — the tokens (embedding + cls + pos) and
//    every proj and fc2 output — so at every depth the stream is s ⊙ what the same weights
//    write unscaled (the same as scaling every producer's rows and biases by s). The
//    LayerNorms read the scaled stream: a unit scaled by 0 is 0 at every token but still
//    counts in their mean and variance, so unlike a head it is not removed by it.

#include "growth/models/attention.h"
#include "growth/models/depth_family.h"
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

class Vit final : public Model, public DepthModel {
 public:
  Vit(const ArchSpec& spec, uint64_t seed)
      : spec_(spec),
        head_dim_(spec.integer("head_dim")),
        patch_(spec.integer("patch")),
        blocks_(spec.ints("inner").size()) {
    auto gen = compat::make_generator(seed);
    const auto inner = spec.ints("inner"), heads = spec.ints("block_heads");
    const int64_t dim = spec.integer("dim");
    add_linear(params_, "embed", spec.in_channels * patch_ * patch_, dim, gen);
    params_.add_parameter("cls", torch::zeros({1, 1, dim}));
    params_.add_parameter("pos", at::normal(0.0, 0.02, {1, patches(spec) + 1, dim}, gen));
    for (size_t b = 0; b < inner.size(); ++b) {
      const std::string m = block(b);
      add_layer_norm(params_, m + ".ln1", dim);
      add_linear(params_, m + ".qkv", dim, 3 * heads[b] * head_dim_, gen);
      add_linear(params_, m + ".proj", heads[b] * head_dim_, dim, gen);
      add_layer_norm(params_, m + ".ln2", dim);
      add_linear(params_, m + ".fc1", dim, inner[b], gen);
      add_linear(params_, m + ".fc2", inner[b], dim, gen);
    }
    add_layer_norm(params_, "norm", dim);
    add_linear(params_, "head", dim, spec.classes, gen);
  }

  torch::Tensor first_site_input(const torch::Tensor& x) override { return first_site_input(x, ForwardOptions{}); }
  // At the active stream and block 1's active heads: the gate's probe reads the smallest
  // sub-network's first site.
  torch::Tensor first_site_input(const torch::Tensor& x, const ForwardOptions& o) override {
    const int64_t d = active_of(o, "stream", dim());
    auto h = tokens(x, d);
    h = h + attention(block(0), h, d, active_of(o, block(0) + ".heads", heads_of(0)), {});
    return norm(block(0) + ".ln2", h, d);
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    const int64_t d = active_of(o, "stream", dim());
    const torch::Tensor stream_scale = scale_of(o, "stream");
    auto write = [&](const torch::Tensor& y) { return stream_scale.defined() ? y * stream_scale : y; };
    // A known output (the gate's probe) was computed at the same widths before its site
    // (ForwardOptions::known_outputs; SlimmableNet::probe_reused decides where).
    auto h = write(tokens(x, d));  // (N, T, d)
    for (size_t b = 0; b < blocks_; ++b) {
      const std::string m = block(b), site = m + ".fc1";
      const int64_t heads = active_of(o, m + ".heads", heads_of(b));
      h = h + write(attention(m, h, d, heads, scale_of(o, m + ".heads"), o.trace));
      const auto in = norm(m + ".ln2", h, d);  // (N, T, d)
      const int64_t units = active_of(o, site, params_.parameter(site + ".weight").size(0));
      if (o.trace) o.trace->inputs[site] = in;
      auto z = hidden(site, in, units, o.known_output(site));  // (N, T, units)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[site] = z;
      }
      auto a = at::gelu(z);
      if (const auto scale = scale_of(o, site); scale.defined()) a = a * scale;
      if (o.site_hook) a = o.site_hook(site, a.transpose(1, 2)).transpose(1, 2);  // units at dim 1
      if (o.trace) o.trace->inputs[m + ".fc2"] = a;
      auto y = linear(params_, m + ".fc2", a, units, d);
      if (o.trace) {
        y.retain_grad();
        o.trace->outputs[m + ".fc2"] = y;
      }
      h = h + write(y);
    }
    const auto cls = norm("norm", h, d).select(1, 0);  // (N, d)
    if (o.trace) o.trace->inputs["head"] = cls;
    auto logits = linear(params_, "head", cls, d, -1);
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

  std::vector<WidthSite> groups() const override {
    auto out = sites();
    for (size_t b = 0; b < blocks_; ++b) {
      const std::string m = block(b);
      WidthSite g;
      g.group = WidthSite::Group::Heads;
      g.name = m + ".heads";
      g.tokens = true;
      g.width = heads_of(b);
      g.producers = {{m + ".qkv.weight", 0, 3 * head_dim_}, {m + ".qkv.bias", 0, 3 * head_dim_}};
      g.consumers = {{m + ".proj.weight", 1, head_dim_}};
      out.push_back(g);
    }
    out.push_back(stream_group());
    return out;
  }

  std::vector<std::string> slimmable_groups() const override {
    std::vector<std::string> out{"stream"};
    for (size_t b = 0; b < blocks_; ++b) out.push_back(block(b) + ".heads");
    return out;
  }

  ArchSpec arch() const override {
    std::vector<int64_t> inner, heads;
    for (size_t b = 0; b < blocks_; ++b) {
      inner.push_back(params_.parameter(block(b) + ".fc1.weight").size(0));
      heads.push_back(heads_of(b));
    }
    ArchSpec a = spec_;
    a.set_ints("inner", inner);
    a.set_ints("block_heads", heads);
    a.set_integer("dim", dim());
    return a;
  }

  void adopt(const ArchSpec& grown) override {
    spec_ = grown;
    blocks_ = grown.ints("inner").size();
  }

 private:
  int64_t dim() const { return params_.parameter("embed.weight").size(0); }
  int64_t heads_of(size_t b) const { return params_.parameter(block(b) + ".qkv.weight").size(0) / (3 * head_dim_); }

  WidthSite stream_group() const {
    WidthSite g;
    g.group = WidthSite::Group::Residual;
    g.name = "stream";
    g.tokens = true;
    g.normalised_over_units = true;
    g.width = dim();
    auto norm = [&](const std::string& m) {
      g.norms.push_back({m + ".weight", 0, 1, 1.0});
      g.norms.push_back({m + ".bias", 0, 1, 0.0});
    };
    auto rows = [&](const std::string& m) {
      g.producers.push_back({m + ".weight", 0, 1});
      g.producers.push_back({m + ".bias", 0, 1});
    };
    rows("embed");
    g.producers.push_back({"cls", 2, 1});
    g.producers.push_back({"pos", 2, 1});
    for (size_t b = 0; b < blocks_; ++b) {
      const std::string m = block(b);
      norm(m + ".ln1");
      g.consumers.push_back({m + ".qkv.weight", 1, 1});
      rows(m + ".proj");
      norm(m + ".ln2");
      g.consumers.push_back({m + ".fc1.weight", 1, 1});
      rows(m + ".fc2");
    }
    norm("norm");
    g.consumers.push_back({"head.weight", 1, 1});
    return g;
  }

  // The active width of group or site `name` (absent: `full`), within [1, full].
  static int64_t active_of(const ForwardOptions& o, const std::string& name, int64_t full) {
    const int64_t a = o.active_width(name);
    if (a < 0) return full;
    SPROUT_CHECK(a >= 1 && a <= full, ConfigError, "active width of '", name, "' is ", a, ", outside [1, ", full, "]");
    return a;
  }
  // The adaptive scale of `name` (undefined: none).
  static torch::Tensor scale_of(const ForwardOptions& o, const std::string& name) {
    if (!o.unit_scale) return {};
    auto it = o.unit_scale->find(name);
    return it == o.unit_scale->end() ? torch::Tensor() : it->second;
  }

  // The first n entries of t along dim: t itself at its full size (no view, so the full
  // width's forward and backward are the plain model's, without slice-backward copies).
  static torch::Tensor leading(const torch::Tensor& t, int64_t dim, int64_t n) {
    return n == t.size(dim) ? t : t.narrow(dim, 0, n);
  }

  // LayerNorm over the first d units, with γ and β sliced to them (eps 1e-5, as torch.nn).
  torch::Tensor norm(const std::string& m, const torch::Tensor& x, int64_t d) const {
    return at::layer_norm(x, {d}, leading(params_.parameter(m + ".weight"), 0, d),
                          leading(params_.parameter(m + ".bias"), 0, d), 1e-5);
  }

  // Patches, embedding, class token and positions on the first d stream units: (N, T, d).
  torch::Tensor tokens(const torch::Tensor& x, int64_t d) {
    const int64_t n = x.size(0);
    auto cols = at::im2col(x, {patch_, patch_}, {1, 1}, {0, 0}, {patch_, patch_});  // (N, C·p·p, P)
    auto e = linear(params_, "embed", cols.transpose(1, 2), -1, d);                  // (N, P, d)
    auto cls = leading(params_.parameter("cls"), 2, d).expand({n, 1, d});
    return at::cat({cls, e}, 1) + leading(params_.parameter("pos"), 2, d);
  }

  // Self-attention of the first `heads` heads on the first d stream units; `scale` (one
  // value per head, optional) multiplies each head's output before proj. Traced: qkv's
  // input and proj's output (GradMax on a heads group).
  torch::Tensor attention(const std::string& m, const torch::Tensor& h, int64_t d, int64_t heads,
                          const torch::Tensor& scale, ForwardTrace* trace = nullptr) {
    const auto in = norm(m + ".ln1", h, d);
    if (trace) trace->inputs[m + ".qkv"] = in;
    const int64_t width = heads * head_dim_;
    const auto qkv = linear(params_, m + ".qkv", in, d, 3 * width);  // (N, T, heads·3·hd), head-major
    auto y = attention_core(qkv, head_dim_);                         // (N, T, heads·hd)
    if (scale.defined()) {
      y = (y.reshape({y.size(0), y.size(1), heads, head_dim_}) * scale.reshape({heads, 1})).reshape(y.sizes());
    }
    auto out = linear(params_, m + ".proj", y, width, d);
    if (trace) {
      out.retain_grad();
      trace->outputs[m + ".proj"] = out;
    }
    return out;
  }

  // fc1 on its first `units` outputs, reading in's units; with a known prefix (the gate's
  // probe) only the rest.
  torch::Tensor hidden(const std::string& site, const torch::Tensor& in, int64_t units, const torch::Tensor& known) {
    if (!known.defined()) return linear(params_, site, in, in.size(-1), units);
    const auto w = leading(params_.parameter(site + ".weight"), 1, in.size(-1));
    const int64_t k = known.size(-1);
    if (k >= units) return known.narrow(-1, 0, units);
    const auto& bias = params_.parameter(site + ".bias");
    const auto rest = at::linear(in, w.narrow(0, k, units - k), bias.narrow(0, k, units - k));
    return at::cat({known, rest}, -1);
  }


  ArchSpec spec_;
  int64_t head_dim_, patch_;  // fixed; the model width and head counts are read from the tensors
  size_t blocks_;  // read once: forward and sites() run often
};

class VitFamily final : public ModelFamily, public DepthFamily {
 public:
  std::string name() const override { return "vit"; }
  std::vector<FamilySetting> settings() const override {
    return {{"depth", FamilySetting::Type::Integer, "4", "Transformer blocks"},
            {"dim", FamilySetting::Type::Integer, "64", "model width (the residual stream)"},
            {"heads", FamilySetting::Type::Integer, "4",
             "attention heads (dim divisible by heads unless model.head_dim is set)"},
            {"block_heads", FamilySetting::Type::Ints, "",
             "every block's number of heads, the growable groups block<b>.heads (empty: model.heads)"},
            {"head_dim", FamilySetting::Type::Integer, "0", "dimension of one head (0: model.dim / model.heads)"},
            {"patch", FamilySetting::Type::Integer, "7", "patch side in pixels (divides the image sides)"},
            {"mlp", FamilySetting::Type::Integer, "128", "every block's MLP hidden width"},
            {"inner", FamilySetting::Type::Ints, "",
             "every block's MLP hidden width, the growable sites block<b>.fc1 (empty: model.mlp)"}};
  }
  ArchSpec normalise(ArchSpec spec) const override {
    const int64_t depth = spec.integer("depth"), dim = spec.integer("dim"), heads = spec.integer("heads");
    if (spec.integer("head_dim") == 0 && heads >= 1 && dim % heads == 0) spec.set_integer("head_dim", dim / heads);
    if (depth < 1 || depth > 256) return spec;
    if (spec.ints("inner").empty()) {
      spec.set_ints("inner", std::vector<int64_t>(static_cast<size_t>(depth), spec.integer("mlp")));
    }
    if (spec.ints("block_heads").empty()) {
      spec.set_ints("block_heads", std::vector<int64_t>(static_cast<size_t>(depth), heads));
    }
    return spec;
  }
  void validate(const ArchSpec& spec) const override {
    const int64_t depth = spec.integer("depth"), dim = spec.integer("dim"), heads = spec.integer("heads"),
                  patch = spec.integer("patch"), mlp = spec.integer("mlp");
    SPROUT_CHECK(depth >= 1 && depth <= 256, ConfigError, "model.depth: ", depth, " must be in [1, 256]");
    SPROUT_CHECK(dim >= 1 && dim <= (1 << 16), ConfigError, "model.dim: ", dim, " must be in [1, 65536]");
    SPROUT_CHECK(heads >= 1 && (dim % heads == 0 || spec.integer("head_dim") > 0), ConfigError, "model.heads: ", heads,
                 " must be >= 1 and divide model.dim ", dim);
    const int64_t head_dim = spec.integer("head_dim");
    SPROUT_CHECK(head_dim >= 1 && head_dim <= (1 << 16), ConfigError, "model.head_dim: ", head_dim,
                 " must be in [1, 65536]");
    const auto block_heads = spec.ints("block_heads");
    SPROUT_CHECK(static_cast<int64_t>(block_heads.size()) == depth, ConfigError, "model.block_heads: '",
                 spec.params.at("block_heads"), "' has ", block_heads.size(), " counts; depth ", depth, " has ", depth,
                 " blocks");
    for (auto h : block_heads) {
      SPROUT_CHECK(h >= 1 && h <= (1 << 12), ConfigError, "model.block_heads: every count must be in [1, 4096], got ",
                   spec.params.at("block_heads"));
    }
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
    const auto heads = spec.ints("block_heads");
    std::string grown;  // heads per block and head dimension, where they differ from the defaults
    if (heads != std::vector<int64_t>(heads.size(), spec.integer("heads"))) grown += " block heads " + join_ints(heads);
    if (spec.integer("head_dim") * spec.integer("heads") != spec.integer("dim")) {
      grown += concat(" head_dim ", spec.integer("head_dim"));
    }
    const auto inner = spec.ints("inner");
    const bool uniform = std::all_of(inner.begin(), inner.end(), [&](int64_t w) { return w == inner.front(); });
    return s + (uniform ? std::to_string(inner.front()) : join_ints(inner)) + grown + concat(" -> ", spec.classes);
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    const auto inner = spec.ints("inner");
    for (size_t b = 0; b < inner.size(); ++b) out.emplace_back(block(b) + ".fc1", inner[b]);
    return out;
  }
  std::vector<std::pair<std::string, int64_t>> group_widths(const ArchSpec& spec) const override {
    auto out = site_widths(spec);
    const auto heads = spec.ints("block_heads");
    for (size_t b = 0; b < heads.size(); ++b) out.emplace_back(block(b) + ".heads", heads[b]);
    out.emplace_back("stream", spec.integer("dim"));
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& widths) const override {
    auto inner = spec.ints("inner"), heads = spec.ints("block_heads");
    for (size_t b = 0; b < inner.size(); ++b) {
      if (auto it = widths.find(block(b) + ".fc1"); it != widths.end()) inner[b] = it->second;
      if (auto it = widths.find(block(b) + ".heads"); it != widths.end() && b < heads.size()) heads[b] = it->second;
    }
    spec.set_ints("inner", inner);
    spec.set_ints("block_heads", heads);
    if (auto it = widths.find("stream"); it != widths.end()) spec.set_integer("dim", it->second);
    return spec;
  }
  // At the active widths of every site and group (the stream, each block's heads).
  std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const override {
    auto active_or = [&](const std::string& name, int64_t full) {
      auto it = active.find(name);
      return it == active.end() ? full : it->second;
    };
    const int64_t d = active_or("stream", spec.integer("dim")), p = spec.integer("patch"), t = patches(spec) + 1;
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
    const auto inner = spec.ints("inner"), block_heads = spec.ints("block_heads");
    const int64_t hd = spec.integer("head_dim");
    for (size_t b = 0; b < inner.size(); ++b) {
      const std::string site = block(b) + ".fc1";
      const int64_t units = active_or(site, inner[b]);
      const int64_t heads = active_or(block(b) + ".heads", block_heads[b]), a = heads * hd;  // attention width
      add(block(b) + ".qkv", d, 3 * a, t, 2.0 * d, 2.0 * t * d + 3.0 * t * a);  // ln1, and q, k, v
      add(block(b) + ".proj", a, d, t, 0, 2.0 * heads * t * t + 2.0 * t * a);  // scores, softmax, output
      out.back().macs += 2 * t * t * a;
      add(site, d, units, t, 2.0 * d, 2.0 * t * d + 2.0 * t * units);  // ln2; fc1 output and GELU
      add(block(b) + ".fc2", units, d, t, 0, 2.0 * t * d);              // output and residual sum
    }
    add("head", d, spec.classes, 1, 2.0 * d, 2.0 * t * d + spec.classes);  // the final LayerNorm
    return out;
  }
  std::string width_options(const ArchSpec& spec) const override {
    return concat("--model.dim ", spec.integer("dim"), " --model.block_heads ", spec.params.at("block_heads"),
                  " --model.inner ", spec.params.at("inner"));
  }

  std::vector<std::string> depth_places(const ArchSpec&) const override { return {"blocks"}; }

  // A pre-LN block after the last one, with its heads and MLP width; proj and fc2 are the
  // zero-started layers (both residual branches then add 0).
  AddedBlock add_block(const ArchSpec& spec, const std::string& place) const override {
    SPROUT_CHECK(place == "blocks", ConfigError, "vit: no place '", place,
                 "' to add a block at (this model has: blocks, after its last block)");
    auto inner = spec.ints("inner"), heads = spec.ints("block_heads");
    inner.push_back(inner.back());
    heads.push_back(heads.back());
    AddedBlock out;
    out.arch = spec;
    out.arch.set_ints("inner", inner);
    out.arch.set_ints("block_heads", heads);
    out.arch.set_integer("depth", static_cast<int64_t>(inner.size()));
    out.arch = complete(out.arch);
    out.prefix = block(inner.size() - 1);
    for (const char* m : {".proj", ".fc2"}) {
      out.zero.push_back(out.prefix + m + ".weight");
      out.zero.push_back(out.prefix + m + ".bias");
    }
    for (const char* m : {".qkv", ".fc1"}) {
      out.partners.push_back(out.prefix + m + ".weight");
      out.partners.push_back(out.prefix + m + ".bias");
    }
    out.blocks_at_place = static_cast<int64_t>(inner.size());
    out.like = block(inner.size() - 2);
    return out;
  }

  // Blocks are only appended: a stored model with more blocks is the current one grown.
  ArchSpec with_added_blocks(const ArchSpec& current, const ArchSpec& stored) const override {
    const size_t n = current.ints("inner").size();
    const auto stored_inner = stored.ints("inner"), stored_heads = stored.ints("block_heads");
    if (stored_inner.size() <= n || stored_heads.size() != stored_inner.size()) return current;
    auto inner = current.ints("inner"), heads = current.ints("block_heads");
    inner.insert(inner.end(), stored_inner.begin() + static_cast<std::ptrdiff_t>(n), stored_inner.end());
    heads.insert(heads.end(), stored_heads.begin() + static_cast<std::ptrdiff_t>(n), stored_heads.end());
    ArchSpec out = current;
    out.set_ints("inner", inner);
    out.set_ints("block_heads", heads);
    out.set_integer("depth", static_cast<int64_t>(inner.size()));
    return out;
  }
};

}  // namespace

std::unique_ptr<ModelFamily> make_vit_family() { return std::make_unique<VitFamily>(); }

}  // namespace sprout::growth
