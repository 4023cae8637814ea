// Multiply-accumulates (MACs) per example: the cost measure of slimmable and dynamic
// width (DS-Net reports MAdds the same way).
//
// Counted: every Linear (in·out) and convolution (in·out·k·k·H·W at its output size) at
// the active widths, as the model's family lists them (growth/models/family.h), and the DS-Net gate's linear layers. Not counted: biases, batch-
// norm, activations, pooling, the attention's elementwise product — they are O(units),
// not O(units²), and DS-Net's counter leaves them out too (it counts average pooling).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "growth/models/arch.h"

namespace sprout::growth {

struct LayerMacs {
  std::string module;  // "conv1", "fc2"
  int64_t in = 0, out = 0;  // active input / output units (channels for convolutions)
  int64_t macs = 0;
};

// Every conv/linear layer of `arch` in forward order, with hidden sites and slimmable groups at `active`
// units (a site absent from the map: its full width). Throws ConfigError for an active
// width outside [1, width].
std::vector<LayerMacs> layer_macs(const ArchSpec& arch, const std::map<std::string, int64_t>& active = {});
int64_t macs_per_example(const ArchSpec& arch, const std::map<std::string, int64_t>& active = {});

// The gate's squeeze-excitation attention on k units with reduction width R: k·R + R·k.
int64_t attention_macs(int64_t k, int64_t reduced);
// The gate's width head read from the probe's k units: k·R + R·K.
int64_t gate_head_macs(int64_t k, int64_t reduced, int64_t choices);

}  // namespace sprout::growth
