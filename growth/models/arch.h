// ArchSpec: the architecture of a model — its family, the input it reads, and the
// family's own parameters — enough to rebuild it (checkpoints store it before any tensor,
// so a grown model restores).
//
// Everything a family means by its parameters lives with the family
// (growth/models/family.h): ArchSpec only carries them as canonical text, so checkpoints,
// --init.from, merges and fedcl hand an architecture on whole, without knowing its fields.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sprout::growth {

struct ArchSpec {
  std::string kind = "mlp";  // the family's name in the registry (growth/models/family.h)
  int64_t in_channels = 1, in_height = 28, in_width = 28;  // what the data gives
  int64_t classes = 10;
  // The family's parameters, key -> canonical value text ("widths" -> "256,256"). Keys are
  // the family's settings, spelled on the command line as model.<key>.
  std::map<std::string, std::string> params;

  // Typed access to params; ConfigError naming model.<key> when absent or malformed.
  std::vector<int64_t> ints(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  bool flag(const std::string& key) const;
  void set_ints(const std::string& key, const std::vector<int64_t>& values);
  void set_integer(const std::string& key, int64_t value);
  void set_flag(const std::string& key, bool value);

  // One line for logs: "mlp 784-256-256-10", "cnn 1x28x28 c32-c64 3136-128-10" (the family's).
  std::string describe() const;
  // Compact text form stored in checkpoints: "kind=mlp;in=1x28x28;classes=10;batch_norm=false;inserted=;inserted_widths=;widths=256,256".
  std::string serialize() const;
  // Reads serialize()'s form (and the older "conv=…;widths=…;bn=…" one); the result is
  // completed and validated by its family. Throws ConfigError.
  static ArchSpec parse(const std::string& text);
  // parse() of an architecture a checkpoint stored: also refuses one whose tensors this
  // sprout would read with another layout (a vit written before per-block heads, whose qkv
  // rows were q-, k-, v-major, not head-major), with one line naming it.
  static ArchSpec parse_stored(const std::string& text);

  bool operator==(const ArchSpec& o) const { return serialize() == o.serialize(); }
  bool operator!=(const ArchSpec& o) const { return !(*this == o); }
};

// Fills in the family's defaults for parameters not given, drops parameters the family
// does not read (options of other families), normalises every value's text and validates:
// throws ConfigError naming model.kind, model.<key> and the value.
ArchSpec complete(ArchSpec spec);
// Throws what complete() would throw.
void validate(const ArchSpec& spec);

// "256,256" -> {256, 256}; throws ConfigError naming `option` on malformed input.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option);
std::string join_ints(const std::vector<int64_t>& values, const char* sep = ",");

}  // namespace sprout::growth
