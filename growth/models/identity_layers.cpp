#include "growth/models/identity_layers.h"

#include <algorithm>

#include "runtime/error.h"

namespace sprout::growth {

namespace {

// A setting's values, none when the spec does not have it (one built in code, not completed).
std::vector<int64_t> ints_or_none(const ArchSpec& spec, const std::string& key) {
  return spec.params.count(key) ? spec.ints(key) : std::vector<int64_t>{};
}

// model.inserted, or 0 after every hidden layer.
std::vector<int64_t> inserted_counts(const ArchSpec& spec, size_t hidden) {
  auto counts = ints_or_none(spec, "inserted");
  if (counts.empty()) counts.assign(hidden, 0);
  return counts;
}

size_t hidden_index(const std::vector<std::pair<std::string, int64_t>>& hidden, const std::string& place,
                    const std::string& kind) {
  for (size_t i = 0; i < hidden.size(); ++i) {
    if (hidden[i].first == place) return i;
  }
  std::string known;
  for (const auto& h : hidden) known += (known.empty() ? "" : ", ") + h.first;
  throw ConfigError(concat(kind, ": no hidden layer '", place, "' to insert a layer after (this model has: ",
                           known.empty() ? "none" : known, ")"));
}

}  // namespace

std::vector<FamilySetting> identity_layer_settings() {
  return {{"inserted", FamilySetting::Type::Ints, "",
           "identity layers depth growth inserted after each hidden layer (conv1..convK, then fc1..fc(N-1)), "
           "named <layer>_1, <layer>_2, ... (empty: none)"},
          {"inserted_widths", FamilySetting::Type::Ints, "",
           "the widths of the inserted layers in forward order, the growable sites <layer>_<j>"}};
}

std::string identity_layer_options(const ArchSpec& spec) {
  if (ints_or_none(spec, "inserted").empty()) return "";
  return concat(" --model.inserted ", spec.params.at("inserted"), " --model.inserted_widths ",
                spec.params.at("inserted_widths"));
}

std::vector<ChainLayer> layer_chain(const ArchSpec& spec, const std::vector<std::pair<std::string, int64_t>>& hidden) {
  const auto counts = inserted_counts(spec, hidden.size());
  const auto widths = ints_or_none(spec, "inserted_widths");
  std::vector<ChainLayer> out;
  size_t next = 0;  // into widths
  for (size_t i = 0; i < hidden.size(); ++i) {
    out.push_back({hidden[i].first, hidden[i].second, i, 0});
    for (int64_t j = 1; i < counts.size() && j <= counts[i]; ++j, ++next) {
      out.push_back({concat(hidden[i].first, "_", j), next < widths.size() ? widths[next] : hidden[i].second, i, j});
    }
  }
  return out;
}

ArchSpec normalise_identity_layers(ArchSpec spec) {
  const auto counts = ints_or_none(spec, "inserted");
  if (std::all_of(counts.begin(), counts.end(), [](int64_t c) { return c == 0; }) &&
      ints_or_none(spec, "inserted_widths").empty()) {
    spec.set_ints("inserted", {});
    spec.set_ints("inserted_widths", {});
  }
  return spec;
}

void validate_identity_layers(const ArchSpec& spec, size_t hidden) {
  const auto counts = ints_or_none(spec, "inserted");
  const auto widths = ints_or_none(spec, "inserted_widths");
  SPROUT_CHECK(counts.empty() || counts.size() == hidden, ConfigError, "model.inserted: '", spec.params.at("inserted"),
               "' must give one count per hidden layer (", hidden, ")");
  int64_t total = 0;
  for (auto c : counts) {
    SPROUT_CHECK(c >= 0 && c <= 64, ConfigError, "model.inserted: every count must be in [0, 64], got ",
                 spec.params.at("inserted"));
    total += c;
  }
  SPROUT_CHECK(static_cast<int64_t>(widths.size()) == total, ConfigError, "model.inserted_widths: '",
               spec.params.at("inserted_widths"), "' has ", widths.size(), " widths; model.inserted '",
               spec.params.at("inserted"), "' inserts ", total, " layers");
  for (auto w : widths) {
    SPROUT_CHECK(w > 0, ConfigError, "model.inserted_widths: every width must be > 0, got ",
                 spec.params.at("inserted_widths"));
  }
}

ArchSpec with_inserted_widths(ArchSpec spec, const std::vector<std::pair<std::string, int64_t>>& hidden,
                              const std::map<std::string, int64_t>& given) {
  std::vector<int64_t> widths;
  for (const auto& l : layer_chain(spec, hidden)) {
    if (l.inserted == 0) continue;
    const auto it = given.find(l.name);
    widths.push_back(it == given.end() ? l.width : it->second);
  }
  spec.set_ints("inserted_widths", widths);
  return spec;
}

AddedBlock insert_identity_layer(const ArchSpec& spec, const std::vector<std::pair<std::string, int64_t>>& hidden,
                                 const std::string& place, bool batch_norm) {
  const size_t at = hidden_index(hidden, place, spec.kind);
  auto counts = inserted_counts(spec, hidden.size());
  const auto chain = layer_chain(spec, hidden);
  // The last layer of the run: the one the new layer reads, whose width it takes.
  size_t last = 0;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i].base == at) last = i;
  }
  std::vector<int64_t> widths;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i].inserted > 0) widths.push_back(chain[i].width);
    if (i == last) widths.push_back(chain[i].width);
  }
  ++counts[at];
  AddedBlock out;
  out.arch = spec;
  out.arch.set_ints("inserted", counts);
  out.arch.set_ints("inserted_widths", widths);
  out.arch = complete(out.arch);
  out.prefix = concat(place, "_", counts[at]);
  out.zero = {out.prefix + ".bias"};
  out.partners = {out.prefix + ".weight"};
  if (batch_norm) out.norm = "bn_" + out.prefix;
  out.blocks_at_place = counts[at];
  out.like = chain[last].name;
  return out;
}

ArchSpec with_inserted_layers(const ArchSpec& current, const ArchSpec& stored, size_t hidden) {
  const auto now = inserted_counts(current, hidden), then = inserted_counts(stored, hidden);
  if (now.size() != then.size() || now == then) return current;
  for (size_t i = 0; i < now.size(); ++i) {
    if (then[i] < now[i]) return current;
  }
  // The stored chain's inserted widths, taking the current ones where current has the layer.
  std::vector<std::pair<std::string, int64_t>> names(hidden);
  for (size_t i = 0; i < hidden; ++i) names[i] = {concat("h", i), 1};
  const auto current_chain = layer_chain(current, names);
  std::map<std::string, int64_t> kept;
  for (const auto& l : current_chain) {
    if (l.inserted > 0) kept[l.name] = l.width;
  }
  ArchSpec out = current;
  out.set_ints("inserted", then);
  out.set_ints("inserted_widths", ints_or_none(stored, "inserted_widths"));
  return with_inserted_widths(out, names, kept);
}

std::vector<std::string> IdentityLayerDepth::depth_places(const ArchSpec& spec) const {
  std::vector<std::string> out;
  for (const auto& h : hidden_layers(spec)) out.push_back(h.first);
  return out;
}

AddedBlock IdentityLayerDepth::add_block(const ArchSpec& spec, const std::string& place) const {
  return insert_identity_layer(spec, hidden_layers(spec), place, spec.flag("batch_norm"));
}

ArchSpec IdentityLayerDepth::with_added_blocks(const ArchSpec& current, const ArchSpec& stored) const {
  return with_inserted_layers(current, stored, hidden_layers(current).size());
}

}  // namespace sprout::growth
