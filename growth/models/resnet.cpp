// resnet: a pre-activation Wide ResNet (Zagoruyko & Komodakis) for small images.
//
//   stem: 3×3 conv, model.stem channels (16)
//   3 stages of n blocks, model.stages channels (default 16k / 32k / 64k, k = model.widen),
//   depth = 6n + 4;
//   the first block of stages 2 and 3 has stride 2. Block b:
//     o = act(bn1(x));  h = conv1(o, stride) -> bn2 -> act -> conv2;  x = h + shortcut
//     shortcut = x, or conv1x1(o, stride) where the shape changes (PyTorch WRN's rule)
//   head: act(bn_final(x)) -> global average pool -> fc
//
// Modules: stem, block<b>.{bn1,conv1,bn2,conv2,shortcut}, bn_final, fc (b = 1..3n, over
// all stages, in forward order). Depth growth (growth/depth.h) appends a block to a stage
// (or inserts it inside one: "stage2@1") and names it block<N+1> (N blocks before), so no
// module is renamed: model.blocks then
// holds the blocks per stage and model.order the block numbers in forward order, and
// model.depth = 2·Σ blocks + 4 (both empty while every stage has n blocks in number order).
// model.inner is indexed by block number. Width groups:
//  - inner sites: every block's inner width — site block<b>.conv1, producer conv1 (stride
//    1 or 2), norm bn2, consumer conv2 — the width GradMax grows in Wide ResNets.
//    model.inner gives them (default: each block's stage width).
//  - residual groups stage1..stage3: a stage's width, tied through its producers (the
//    first block's 1×1 shortcut, or the stem when the stem has stage 1's width and block 1's
//    shortcut is the identity; every block's conv2), the BatchNorms that read it (the next
//    blocks' bn1, bn_final) and its consumers (those blocks' conv1 and shortcut, fc).
//    model.stages gives them.
//
// Slimming and adaptive width act on the inner sites and on the residual groups stage1..
// stage3 (slimmable_groups()); every batch-norm whose input changes with the active widths
// switches statistics per width (growth/slimmable/slimmable.h).
#include <algorithm>
#include <cmath>

#include "growth/models/depth_family.h"
#include "growth/models/family.h"
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

// Per block in forward order ("position"): its number, stage, widths and stride.
struct Layout {
  std::vector<int64_t> per_stage;  // blocks in each stage
  std::vector<size_t> id;          // per position: block number - 1 (its index in model.inner)
  std::vector<int64_t> stage_of;   // per position: its stage (0..2)
  std::vector<int64_t> stage;      // per position: its stage's width
  std::vector<int64_t> stride;     // per position
  std::vector<int64_t> in;         // per position: input channels
  std::vector<size_t> first;       // per stage: the position of its first block
  int64_t stem = 16;
  int64_t out = 0;  // channels into the head
};

std::vector<int64_t> default_stages(const ArchSpec& spec) {
  const int64_t k = spec.integer("widen");
  return {16 * k, 32 * k, 64 * k};
}

// Blocks per stage: model.blocks, or n = (depth − 4) / 6 in each.
std::vector<int64_t> blocks_per_stage(const ArchSpec& spec) {
  auto blocks = spec.ints("blocks");
  if (blocks.empty()) blocks.assign(3, (spec.integer("depth") - 4) / 6);
  return blocks;
}

int64_t total_blocks(const std::vector<int64_t>& per_stage) {
  int64_t n = 0;
  for (auto b : per_stage) n += b;
  return n;
}

// Block numbers in forward order: model.order, or 1..N.
std::vector<int64_t> block_order(const ArchSpec& spec) {
  auto order = spec.ints("order");
  if (order.empty()) {
    for (int64_t i = 1; i <= total_blocks(blocks_per_stage(spec)); ++i) order.push_back(i);
  }
  return order;
}

// Call only on a validated spec, or where blocks and order agree (messages aside).
Layout layout_of(const ArchSpec& spec) {
  Layout l;
  l.per_stage = blocks_per_stage(spec);
  const auto order = block_order(spec);
  auto stages = spec.ints("stages");
  if (stages.size() != 3) stages = default_stages(spec);  // before normalise(): messages only
  l.stem = spec.integer("stem");
  int64_t in = l.stem;
  size_t p = 0;
  for (int64_t s = 0; s < 3; ++s) {
    l.first.push_back(p);
    for (int64_t b = 0; b < l.per_stage[static_cast<size_t>(s)]; ++b, ++p) {
      l.id.push_back(p < order.size() ? static_cast<size_t>(order[p] - 1) : p);
      l.stage_of.push_back(s);
      l.stage.push_back(stages[s]);
      l.stride.push_back(s > 0 && b == 0 ? 2 : 1);
      l.in.push_back(in);
      in = stages[s];
    }
  }
  l.out = in;
  return l;
}

std::string block(size_t b) { return "block" + std::to_string(b + 1); }
std::string stage_name(int64_t s) { return "stage" + std::to_string(s + 1); }
int64_t down(int64_t side, int64_t stride) { return (side - 1) / stride + 1; }  // 3×3 pad 1 or 1×1 pad 0

class ResNet final : public Model, public DepthModel {
 public:
  ResNet(const ArchSpec& spec, uint64_t seed) : spec_(spec), layout_(layout_of(spec)) {
    auto gen = compat::make_generator(seed);
    const auto inner = spec.ints("inner");
    add_conv(params_, "stem", spec.in_channels, layout_.stem, 3, gen);
    for (size_t b = 0; b < layout_.id.size(); ++b) {  // forward order
      const std::string m = name(b);
      const int64_t width = inner[layout_.id[b]];
      add_batch_norm(params_, m + ".bn1", layout_.in[b]);
      add_conv(params_, m + ".conv1", layout_.in[b], width, 3, gen);
      add_batch_norm(params_, m + ".bn2", width);
      add_conv(params_, m + ".conv2", width, layout_.stage[b], 3, gen);
      if (projects(b)) add_conv(params_, m + ".shortcut", layout_.in[b], layout_.stage[b], 1, gen);
    }
    add_batch_norm(params_, "bn_final", layout_.out);
    add_linear(params_, "fc", layout_.out, spec.classes, gen);
  }

  torch::Tensor first_site_input(const torch::Tensor& x) override { return first_site_input(x, ForwardOptions{}); }
  torch::Tensor first_site_input(const torch::Tensor& x, const ForwardOptions& o) override {
    return read_stream(0, conv3x3(params_, "stem", x, -1, active_stage(input_stage(0), o)), o);
  }

  // Slimming: every residual group runs on its first active units (ForwardOptions::active
  // keyed stage1..stage3): the stem's rows (when tied to stage 1), each block's bn1 (γ, β,
  // statistics per ratio), conv1 and shortcut input columns, conv2 and shortcut output rows,
  // bn_final and fc's columns — views, no copies. A block's identity shortcut passes a
  // stream of the same stage, hence of the same active width.
  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = conv3x3(params_, "stem", x, -1, active_stage(input_stage(0), o));
    for (size_t b = 0; b < layout_.stage.size(); ++b) {
      const std::string m = name(b), site = m + ".conv1";
      const int64_t in = active_stage(input_stage(b), o), out = active_stage(layout_.stage_of[b], o);
      const auto pre = read_stream(b, h, o);
      const auto shortcut = projects(b) ? conv1x1(params_, m + ".shortcut", pre, layout_.stride[b], in, out) : h;
      const int64_t units = o.active_width(site);
      if (o.trace) o.trace->inputs[site] = pre;
      auto z = conv3x3(params_, site, pre, in, units, o.known_output(site), layout_.stride[b]);
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
      auto y = conv3x3(params_, m + ".conv2", a, units, out);
      if (o.trace) {
        y.retain_grad();
        o.trace->outputs[m + ".conv2"] = y;
      }
      h = y + shortcut;
    }
    const int64_t last = active_stage(2, o);
    h = scale_stream(2, activation(batch_norm(params_, "bn_final", h, o.train, last, o.norm_stats)), o).mean({2, 3});
    if (o.trace) o.trace->inputs["fc"] = h;  // (N, C)
    auto logits = linear(params_, "fc", h, last);
    if (o.trace) {
      logits.retain_grad();
      o.trace->outputs["fc"] = logits;
    }
    return logits;
  }

  std::vector<std::string> slimmable_groups() const override { return {stage_name(0), stage_name(1), stage_name(2)}; }

  std::vector<std::string> width_dependent_norms() const override {
    std::vector<std::string> out;
    for (size_t b = 1; b < layout_.stage.size(); ++b) out.push_back(name(b) + ".bn1");
    out.push_back("bn_final");
    return out;
  }

  std::vector<WidthSite> sites() const override {
    std::vector<WidthSite> out;
    for (size_t b = 0; b < layout_.stage.size(); ++b) {
      WidthSite s;
      s.name = s.producer = name(b) + ".conv1";
      s.kind = WidthSite::Kind::Conv;
      s.norm = name(b) + ".bn2";
      s.consumer = name(b) + ".conv2";
      s.stride = layout_.stride[b];
      s.width = params_.parameter(s.producer + ".weight").size(0);
      out.push_back(s);
    }
    return out;
  }

  std::vector<WidthSite> groups() const override {
    auto out = sites();
    for (int64_t s = 0; s < 3; ++s) out.push_back(stage_group(s));
    return out;
  }

  ArchSpec arch() const override {
    std::vector<int64_t> inner(layout_.id.size()), stages;
    for (size_t b = 0; b < layout_.id.size(); ++b) {
      inner[layout_.id[b]] = params_.parameter(name(b) + ".conv1.weight").size(0);
    }
    for (int64_t s = 0; s < 3; ++s) stages.push_back(stage_width(s));
    ArchSpec a = spec_;
    a.set_ints("inner", inner);
    a.set_ints("stages", stages);
    a.set_integer("stem", params_.parameter("stem.weight").size(0));
    return a;
  }

  void adopt(const ArchSpec& grown) override {
    spec_ = grown;
    layout_ = layout_of(grown);
  }

 private:
  std::string name(size_t position) const { return block(layout_.id[position]); }
  bool projects(size_t b) const { return layout_.in[b] != layout_.stage[b] || layout_.stride[b] != 1; }
  size_t first_block(int64_t s) const { return layout_.first[static_cast<size_t>(s)]; }
  // Active units of stage s (-1: the full width, or the stem's own width for s < 0).
  static int64_t active_stage(int64_t s, const ForwardOptions& o) { return s < 0 ? -1 : o.active_width(stage_name(s)); }

  // act(bn1(h)) of block b on the active units of the stage it reads, scaled by that stage's
  // importances. Block 1's bn1 reads the stem: its own statistics when the stem has its own
  // width (the same at every ratio), the ratio's when it is stage 1's (a slimmable group).
  torch::Tensor read_stream(size_t b, const torch::Tensor& h, const ForwardOptions& o) const {
    const int64_t s = input_stage(b);
    const auto bn = batch_norm(params_, name(b) + ".bn1", h, o.train, active_stage(s, o), s < 0 ? "" : o.norm_stats);
    return s < 0 ? activation(bn) : scale_stream(s, activation(bn), o);
  }

  // Adaptive width on a residual group: the importances p̂ multiply the stage's units where
  // they meet weights — after the activation of every batch-norm that reads the stage (the
  // input of the next blocks' conv1 and 1×1 shortcut, of fc), as an inner site's multiply
  // its consumer's input. Not on the stream itself: every reader of the stream normalises
  // it per channel first (pre-activation blocks, bn_final), which would undo a scale there
  // in training mode. A unit with p̂ → 0 then reaches no weight (identity shortcuts only
  // carry it to the next reader), so truncating trailing units changes the output little.
  static torch::Tensor scale_stream(int64_t s, const torch::Tensor& a, const ForwardOptions& o) {
    if (!o.unit_scale) return a;
    auto it = o.unit_scale->find(stage_name(s));
    return it == o.unit_scale->end() ? a : a * it->second.view({1, -1, 1, 1});
  }
  int64_t stage_width(int64_t s) const { return params_.parameter(name(first_block(s)) + ".conv2.weight").size(0); }
  // The stage whose width block b reads (its bn1, conv1, shortcut); -1: the stem's own width.
  int64_t input_stage(size_t b) const {
    const int64_t s = layout_.stage_of[b];
    if (b != first_block(s)) return s;
    if (s > 0) return s - 1;
    return projects(0) ? -1 : 0;  // block 1 reads the stem, tied to stage 1 by an identity
  }

  WidthSite stage_group(int64_t s) const {
    WidthSite g;
    g.group = WidthSite::Group::Residual;
    g.name = stage_name(s);
    g.kind = WidthSite::Kind::Conv;
    g.width = stage_width(s);
    auto rows = [&](const std::string& module) {
      g.producers.push_back({module + ".weight", 0, 1});
      g.producers.push_back({module + ".bias", 0, 1});
    };
    auto reader = [&](const std::string& bn, const std::string& consumer) {
      g.norms.push_back({bn + ".weight", 0, 1, 1.0});
      g.norms.push_back({bn + ".bias", 0, 1, 0.0});
      g.norms.push_back({bn + ".running_mean", 0, 1, 0.0, true});
      g.norms.push_back({bn + ".running_var", 0, 1, 1.0, true});
      if (!consumer.empty()) g.consumers.push_back({consumer + ".weight", 1, 1});
    };
    const size_t first = first_block(s);
    rows(projects(first) ? name(first) + ".shortcut" : "stem");
    for (size_t b = first; b < first + static_cast<size_t>(layout_.per_stage[static_cast<size_t>(s)]); ++b) {
      rows(name(b) + ".conv2");
    }
    for (size_t b = 0; b < layout_.stage.size(); ++b) {
      if (input_stage(b) != s) continue;
      reader(name(b) + ".bn1", name(b) + ".conv1");
      if (projects(b)) g.consumers.push_back({name(b) + ".shortcut.weight", 1, 1});
    }
    if (s == 2) reader("bn_final", "fc");
    return g;
  }
  ArchSpec spec_;
  Layout layout_;
};

class ResNetFamily final : public ModelFamily, public DepthFamily {
 public:
  std::string name() const override { return "resnet"; }
  std::vector<FamilySetting> settings() const override {
    return {{"depth", FamilySetting::Type::Integer, "10",
             "layers, 6n+4 (n blocks per stage); with model.blocks 2 x (their sum) + 4"},
            {"widen", FamilySetting::Type::Integer, "1", "widening factor k: stages of 16k, 32k, 64k channels"},
            {"stages", FamilySetting::Type::Ints, "",
             "the three stage widths, the residual groups stage1..stage3 (empty: 16k,32k,64k)"},
            {"stem", FamilySetting::Type::Integer, "16",
             "stem channels; equal to stage 1's width, the stem feeds stage 1 through identity shortcuts and grows "
             "with it"},
            {"inner", FamilySetting::Type::Ints, "",
             "every block's inner width by block number, the growable sites block<b>.conv1 (empty: the stage "
             "widths)"},
            {"blocks", FamilySetting::Type::Ints, "",
             "blocks per stage, as depth growth leaves them (empty: n in each stage)"},
            {"order", FamilySetting::Type::Ints, "",
             "block numbers in forward order, as depth growth leaves them (empty: 1..N)"}};
  }
  ArchSpec normalise(ArchSpec spec) const override {
    if (!depth_ok(spec)) return spec;
    // n blocks in every stage in number order is the plain model: written without them.
    const auto blocks = spec.ints("blocks");
    if (!blocks.empty() && blocks == std::vector<int64_t>(3, blocks.front()) && ordered(spec)) {
      spec.set_ints("blocks", {});
      spec.set_ints("order", {});
    }
    if (spec.ints("stages").empty()) spec.set_ints("stages", default_stages(spec));
    if (spec.ints("inner").empty() && spec.ints("stages").size() == 3) {
      const auto l = layout_of(spec);  // the stage widths, written out by block number
      std::vector<int64_t> inner(l.id.size());
      for (size_t b = 0; b < l.id.size(); ++b) {
        if (l.id[b] < inner.size()) inner[l.id[b]] = l.stage[b];
      }
      spec.set_ints("inner", inner);
    }
    return spec;
  }
  void validate(const ArchSpec& spec) const override {
    const int64_t depth = spec.integer("depth"), widen = spec.integer("widen");
    const auto blocks = spec.ints("blocks");
    SPROUT_CHECK(blocks.empty() || blocks.size() == 3, ConfigError, "model.blocks: '", spec.params.at("blocks"),
                 "' must be 3 counts (blocks per stage)");
    for (auto b : blocks) {
      SPROUT_CHECK(b >= 1 && b <= 256, ConfigError, "model.blocks: every count must be in [1, 256], got ",
                   spec.params.at("blocks"));
    }
    SPROUT_CHECK(depth_ok(spec), ConfigError, "model.depth: ", depth,
                 blocks.empty() ? " is not 6n+4 with n >= 1 (10, 16, 22, 28, ...)"
                                : concat(" does not match model.blocks ", spec.params.at("blocks"), " (2·",
                                         total_blocks(blocks), "+4 = ", 2 * total_blocks(blocks) + 4, ")"));
    SPROUT_CHECK(depth <= 6 * 256 + 4, ConfigError, "model.depth: ", depth, " is above ", 6 * 256 + 4);
    const auto order = spec.ints("order");
    if (!order.empty()) {
      auto sorted = order;
      std::sort(sorted.begin(), sorted.end());
      bool permutation = static_cast<int64_t>(sorted.size()) == total_blocks(blocks_per_stage(spec));
      for (size_t i = 0; permutation && i < sorted.size(); ++i) permutation = sorted[i] == static_cast<int64_t>(i) + 1;
      SPROUT_CHECK(permutation, ConfigError, "model.order: '", spec.params.at("order"), "' is not an order of blocks 1..",
                   total_blocks(blocks_per_stage(spec)));
    }
    SPROUT_CHECK(widen >= 1 && widen <= 64, ConfigError, "model.widen: ", widen, " must be in [1, 64]");
    const auto stages = spec.ints("stages");
    SPROUT_CHECK(stages.size() == 3, ConfigError, "model.stages: '", spec.params.at("stages"), "' must be 3 widths");
    for (auto w : stages) {
      SPROUT_CHECK(w > 0, ConfigError, "model.stages: every width must be > 0, got ", spec.params.at("stages"));
    }
    SPROUT_CHECK(spec.integer("stem") > 0, ConfigError, "model.stem: ", spec.integer("stem"), " must be > 0");
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
                           l.stage[l.first[1]], "-", l.stage.back());
    if (!spec.ints("blocks").empty()) s += " blocks " + join_ints(l.per_stage);
    if (l.stem != 16) s += concat(" stem ", l.stem);
    const auto inner = spec.ints("inner");
    std::vector<int64_t> stage_by_id(inner.size());
    for (size_t b = 0; b < l.id.size(); ++b) stage_by_id[l.id[b]] = l.stage[b];
    if (inner != stage_by_id) s += " inner " + join_ints(inner);
    return s + concat(" -> ", spec.classes);
  }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    std::vector<std::pair<std::string, int64_t>> out;  // forward order, as the model lists them
    const auto inner = spec.ints("inner");
    for (auto id : layout_of(spec).id) out.emplace_back(block(id) + ".conv1", inner[id]);
    return out;
  }
  std::vector<std::pair<std::string, int64_t>> group_widths(const ArchSpec& spec) const override {
    auto out = site_widths(spec);
    const auto stages = spec.ints("stages");
    for (int64_t s = 0; s < 3; ++s) out.emplace_back(stage_name(s), stages.at(s));
    return out;
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& widths) const override {
    auto inner = spec.ints("inner");
    for (size_t b = 0; b < inner.size(); ++b) {
      if (auto it = widths.find(block(b) + ".conv1"); it != widths.end()) inner[b] = it->second;
    }
    spec.set_ints("inner", inner);
    auto stages = spec.ints("stages");
    const bool stem_tied = spec.integer("stem") == stages.at(0);
    for (int64_t s = 0; s < 3; ++s) {
      if (auto it = widths.find(stage_name(s)); it != widths.end()) stages[s] = it->second;
    }
    // model.stem == stage 1's width is what makes block 1's shortcut the identity, so an
    // untied stage 1 cannot take the stem's width.
    SPROUT_CHECK(stem_tied || stages[0] != spec.integer("stem"), ConfigError, "stage1: width ", stages[0],
                 " would equal the stem's ", spec.integer("stem"), " channels while block 1 projects (not expressible)");
    spec.set_ints("stages", stages);
    if (stem_tied) spec.set_integer("stem", stages[0]);
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
    auto width = [&](const std::string& group, int64_t full) {
      auto it = active.find(group);
      return it == active.end() ? full : it->second;
    };
    std::vector<int64_t> stage(3);  // active stage widths
    for (size_t b = 0; b < l.id.size(); ++b) stage[l.stage_of[b]] = width(stage_name(l.stage_of[b]), l.stage[b]);
    const int64_t stem = l.stem == l.stage.front() ? stage[0] : l.stem;  // tied to stage 1, or its own width
    conv("stem", spec.in_channels, stem, 3, h, w, false);
    int64_t in = stem;
    for (size_t b = 0; b < l.id.size(); ++b) {
      const std::string site = block(l.id[b]) + ".conv1";
      const int64_t units = width(site, inner[l.id[b]]), out = stage[l.stage_of[b]];
      const int64_t oh = down(h, l.stride[b]), ow = down(w, l.stride[b]);
      conv(site, in, units, 3, oh, ow, true);
      conv(block(l.id[b]) + ".conv2", units, out, 3, oh, ow, true);  // the next bn1 (or bn_final) on its output
      if (l.in[b] != l.stage[b] || l.stride[b] != 1) conv(block(l.id[b]) + ".shortcut", in, out, 1, oh, ow, false);
      h = oh;
      w = ow;
      in = out;
    }
    const auto head = dense_layers(in, {}, spec.classes, false, {});
    out.push_back(head.front());
    out.back().module = "fc";
    out.back().norm = 0;
    // bn1 of block 1 sits on the stem's output: counted with conv2's norms shifted by one.
    out.front().norm = 2.0 * stem;
    out.front().norm_buffers = 2.0 * stem + 1;
    return out;
  }
  std::string width_options(const ArchSpec& spec) const override {
    std::string depth;
    if (!spec.ints("blocks").empty()) {
      depth = concat(" --model.blocks ", spec.params.at("blocks"), " --model.order ", join_ints(block_order(spec)));
    }
    return concat("--model.depth ", spec.integer("depth"), depth, " --model.stages ", spec.params.at("stages"),
                  " --model.inner ", spec.params.at("inner"));
  }

  std::vector<std::string> depth_places(const ArchSpec&) const override { return {"stage1", "stage2", "stage3"}; }

  // A pre-activation basic block appended to the stage ("stage2"), or inserted before the
  // stage's block at position k ("stage2@k", 1 <= k <= blocks in the stage; k = that count
  // appends): stride 1, the stage's width in and out (identity shortcut), the inner width
  // of the block before it. Position 0 is refused: the first block of a stage changes the
  // width or the stride. The new block is numbered after every other one, so inserting
  // renames nothing; model.order records where it runs.
  AddedBlock add_block(const ArchSpec& spec, const std::string& place) const override {
    const auto at = place.find('@');
    const std::string stage = place.substr(0, at);
    const auto places = depth_places(spec);
    const auto it = std::find(places.begin(), places.end(), stage);
    SPROUT_CHECK(it != places.end(), ConfigError, "resnet: no stage '", stage,
                 "' to add a block to (this model has: stage1, stage2, stage3)");
    const auto s = static_cast<size_t>(it - places.begin());
    const Layout l = layout_of(spec);
    auto per_stage = l.per_stage;
    int64_t position = per_stage[s];  // within the stage: append
    if (at != std::string::npos) {
      const std::string k = place.substr(at + 1);
      const bool digits = !k.empty() && k.size() < 4 && std::all_of(k.begin(), k.end(), ::isdigit);
      position = digits ? std::stoll(k) : -1;
      SPROUT_CHECK(position >= 1 && position <= per_stage[s], ConfigError, "resnet: '", place,
                   "': a block goes at a position 1..", per_stage[s], " of ", stage,
                   " (before that block; 0 would precede the block that changes width or stride)");
    }
    auto order = block_order(spec);
    auto inner = spec.ints("inner");
    const size_t before = l.first[s] + static_cast<size_t>(position) - 1;  // the block the new one follows
    const int64_t id = static_cast<int64_t>(inner.size()) + 1;
    order.insert(order.begin() + static_cast<std::ptrdiff_t>(before + 1), id);
    inner.push_back(inner[l.id[before]]);
    ++per_stage[s];
    AddedBlock out;
    out.arch = spec;
    out.arch.set_ints("blocks", per_stage);
    out.arch.set_ints("order", order);
    out.arch.set_ints("inner", inner);
    out.arch.set_integer("depth", 2 * total_blocks(per_stage) + 4);
    out.arch = complete(out.arch);
    out.prefix = block(static_cast<size_t>(id - 1));
    out.zero = {out.prefix + ".conv2.weight", out.prefix + ".conv2.bias"};
    out.partners = {out.prefix + ".conv1.weight", out.prefix + ".conv1.bias"};
    out.blocks_at_place = per_stage[s];
    out.like = block(l.id[before]);
    return out;
  }

  // `stored` extends `current` when its blocks numbered up to current's count sit in the
  // same stages in the same order (depth growth only appends, numbering new blocks after).
  ArchSpec with_added_blocks(const ArchSpec& current, const ArchSpec& stored) const override {
    const Layout now = layout_of(current), then = layout_of(stored);
    const size_t n = now.id.size();
    if (then.id.size() <= n) return current;
    for (size_t s = 0, p = 0; s < 3; ++s) {
      std::vector<size_t> kept;
      for (size_t b = then.first[s]; b < then.first[s] + static_cast<size_t>(then.per_stage[s]); ++b) {
        if (then.id[b] < n) kept.push_back(then.id[b]);
      }
      for (auto id : kept) {
        if (p >= n || now.id[p] != id || now.stage_of[p] != static_cast<int64_t>(s)) return current;
        ++p;
      }
    }
    ArchSpec out = current;
    auto inner = current.ints("inner");
    const auto stored_inner = stored.ints("inner");
    for (size_t id = n; id < stored_inner.size(); ++id) inner.push_back(stored_inner[id]);
    out.set_ints("inner", inner);
    for (const char* key : {"blocks", "order", "depth"}) out.params[key] = stored.params.at(key);
    return out;
  }

 private:
  static bool depth_ok(const ArchSpec& spec) {
    const int64_t depth = spec.integer("depth");
    const auto blocks = spec.ints("blocks");
    if (!blocks.empty()) return blocks.size() == 3 && depth == 2 * total_blocks(blocks) + 4;
    return depth >= 10 && (depth - 4) % 6 == 0;
  }
  static bool ordered(const ArchSpec& spec) {
    const auto order = spec.ints("order");
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i] != static_cast<int64_t>(i) + 1) return false;
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<ModelFamily> make_resnet_family() { return std::make_unique<ResNetFamily>(); }

}  // namespace sprout::growth
