#include "growth/models/macs.h"

#include "runtime/error.h"

namespace sprout::growth {

namespace {

int64_t active_or_full(const std::map<std::string, int64_t>& active, const std::string& site, int64_t width) {
  auto it = active.find(site);
  if (it == active.end()) return width;
  SPROUT_CHECK(it->second >= 1 && it->second <= width, ConfigError, "active width of site '", site, "' is ",
               it->second, ", outside [1, ", width, "]");
  return it->second;
}

}  // namespace

std::vector<LayerMacs> layer_macs(const ArchSpec& arch, const std::map<std::string, int64_t>& active) {
  std::vector<LayerMacs> out;
  int64_t in = arch.in_channels, h = arch.in_height, w = arch.in_width;
  if (arch.kind == "cnn") {
    for (size_t i = 0; i < arch.conv.size(); ++i) {
      const std::string name = "conv" + std::to_string(i + 1);
      const int64_t units = active_or_full(active, name, arch.conv[i]);
      out.push_back({name, in, units, in * units * 9 * h * w});  // padding 1: output is h×w
      in = units;
      h /= 2;  // 2×2 max-pool
      w /= 2;
    }
  }
  in *= h * w;  // flatten (channel-major)
  for (size_t i = 0; i <= arch.widths.size(); ++i) {
    const std::string name = "fc" + std::to_string(i + 1);
    const int64_t units = i < arch.widths.size() ? active_or_full(active, name, arch.widths[i]) : arch.classes;
    out.push_back({name, in, units, in * units});
    in = units;
  }
  return out;
}

int64_t macs_per_example(const ArchSpec& arch, const std::map<std::string, int64_t>& active) {
  int64_t total = 0;
  for (const auto& l : layer_macs(arch, active)) total += l.macs;
  return total;
}

int64_t attention_macs(int64_t k, int64_t reduced) { return 2 * k * reduced; }

int64_t gate_head_macs(int64_t k, int64_t reduced, int64_t choices) { return k * reduced + reduced * choices; }

}  // namespace sprout::growth
