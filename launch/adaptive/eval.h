// `sprout eval --truncate`: post-training truncation of an adaptive-width checkpoint
// (model.adaptive = true; growth/adaptive/adaptive.h). Because the importance p̂(i) orders the units,
// cutting trailing units of every adaptive site costs little accuracy at first and
// truncating at the learned width changes nothing.
//
//   --truncate N     (an integer >= 1) every adaptive site keeps min(N, width) units
//   --truncate F     (a number with a '.', in (0, 1]) every site keeps max(1, round(F·width))
//   --truncate all   the curve: F = 0.05, 0.1, 0.2, …, 0.9, 1.0
// Sites that are not adaptive keep their width. The kept units' importances are not
// renormalised (the downstream weights were trained with them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "growth/models/model.h"

namespace sprout::launch {

struct Truncation {
  std::string label;                      // "0.5", "32"
  std::map<std::string, int64_t> active;  // units kept per site
};

// The truncations `spec` asks for, for `model` (its adaptive sites and widths). Throws
// ConfigError "--truncate: '…' …" for anything else. Pure (same verdict on every rank).
std::vector<Truncation> parse_truncation(const std::string& spec, const growth::Model& model);

}  // namespace sprout::launch
