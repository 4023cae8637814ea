// MLP: flatten -> fc1 -> [bn_fc1] -> act -> ... -> fcN (logits).
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

namespace {

class Mlp final : public Model {
 public:
  Mlp(const ArchSpec& spec, uint64_t seed) : spec_(spec) {
    auto gen = compat::make_generator(seed);
    int64_t in = spec.in_channels * spec.in_height * spec.in_width;
    const size_t n = spec.widths.size() + 1;
    for (size_t i = 1; i <= n; ++i) {
      const int64_t out = i < n ? spec.widths[i - 1] : spec.classes;
      add_linear(params_, fc(i), in, out, gen);
      if (i < n && spec.batch_norm) add_batch_norm(params_, "bn_" + fc(i), out);
      in = out;
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& o) override {
    auto h = x.reshape({x.size(0), -1});  // (N, C·H·W)
    const size_t n = spec_.widths.size() + 1;
    int64_t in = -1;
    for (size_t i = 1; i <= n; ++i) {
      const std::string name = fc(i);
      const int64_t out = i < n ? active(o, name) : -1;
      if (o.trace) o.trace->inputs[name] = h;
      auto z = linear(params_, name, h, in, out, known(o, name));  // (N, out)
      if (o.trace) {
        z.retain_grad();
        o.trace->outputs[name] = z;
      }
      if (i == n) return z;
      if (spec_.batch_norm) z = batch_norm(params_, "bn_" + name, z, o.train, out, o.norm_stats);
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
    for (size_t i = 0; i < a.widths.size(); ++i) a.widths[i] = params_.parameter(fc(i + 1) + ".weight").size(0);
    return a;
  }

 private:
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
  ArchSpec spec_;
};

}  // namespace

std::unique_ptr<Model> make_mlp(const ArchSpec& spec, uint64_t seed) { return std::make_unique<Mlp>(spec, seed); }

}  // namespace sprout::growth
