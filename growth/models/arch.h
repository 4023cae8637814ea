// ArchSpec: the architecture of a model — kind and the width of every site — enough to
// rebuild it (checkpoints store it before any tensor, so a grown model restores).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sprout::growth {

struct ArchSpec {
  std::string kind = "mlp";  // mlp | cnn
  int64_t in_channels = 1, in_height = 28, in_width = 28;
  int64_t classes = 10;
  std::vector<int64_t> conv;    // cnn: out-channels of conv1..convK (3×3, pad 1, then 2×2 max-pool)
  std::vector<int64_t> widths;  // out-features of the hidden layers fc1..fc(N-1); fcN outputs classes
  bool batch_norm = false;      // batch-norm after every hidden producer

  // "mlp 784-256-256-10", "cnn 1x28x28 c32-c64 3136-128-10"
  std::string describe() const;
  // Compact text form used by checkpoints: "kind=mlp;in=1x28x28;classes=10;conv=;widths=256,256;bn=0"
  std::string serialize() const;
  static ArchSpec parse(const std::string& text);  // throws ConfigError

  // Spatial side after the conv stack (each block halves it).
  int64_t feature_height() const;
  int64_t feature_width() const;
};

// Throws ConfigError naming the option (model.widths, model.conv, model.kind) and value.
void validate(const ArchSpec& spec);

// "256,256" -> {256, 256}; throws ConfigError naming `option` on malformed input.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option);
std::string join_ints(const std::vector<int64_t>& values, const char* sep = ",");

}  // namespace sprout::growth
