#include "growth/models/macs.h"

#include "growth/models/family.h"
#include "runtime/error.h"

namespace sprout::growth {

std::vector<LayerMacs> layer_macs(const ArchSpec& given, const std::map<std::string, int64_t>& active) {
  const ArchSpec arch = complete(given);
  const ModelFamily& family = model_family(arch.kind);
  for (const auto& [site, width] : family.group_widths(arch)) {
    auto it = active.find(site);
    if (it == active.end()) continue;
    SPROUT_CHECK(it->second >= 1 && it->second <= width, ConfigError, "active width of site '", site, "' is ",
                 it->second, ", outside [1, ", width, "]");
  }
  std::vector<LayerMacs> out;
  for (const auto& l : family.layers(arch, active)) out.push_back({l.module, l.in, l.out, l.macs});
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
