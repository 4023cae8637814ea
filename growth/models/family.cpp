#include "growth/models/family.h"

#include <algorithm>
#include <memory>

#include "growth/models/depth_family.h"
#include "runtime/error.h"

namespace sprout::growth {

// One line per family (each defined in its own file).
std::unique_ptr<ModelFamily> make_mlp_family();  // mlp.cpp
std::unique_ptr<ModelFamily> make_cnn_family();  // cnn.cpp
std::unique_ptr<ModelFamily> make_resnet_family();  // resnet.cpp
std::unique_ptr<ModelFamily> make_vit_family();     // vit.cpp

namespace {

// Families are never removed, so references handed out stay valid; registration happens
// before any rank starts (set-up), and lookups are read-only.
std::vector<std::unique_ptr<ModelFamily>>& registry() {
  static auto families = [] {
    std::vector<std::unique_ptr<ModelFamily>> f;
    f.push_back(make_mlp_family());
    f.push_back(make_cnn_family());
    f.push_back(make_resnet_family());
    f.push_back(make_vit_family());
    return f;
  }();
  return families;
}

std::string names_text() {
  std::string s;
  for (const auto& n : model_family_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

const ModelFamily& model_family(const std::string& name) {
  for (const auto& f : registry()) {
    if (f->name() == name) return *f;
  }
  throw ConfigError(concat("model.kind: unknown model '", name, "' (expected one of ", names_text(), ")"));
}

void register_model_family(std::unique_ptr<ModelFamily> family) {
  SPROUT_CHECK(family && !family->name().empty(), Error, "register_model_family: a family needs a name");
  for (const auto& f : registry()) {
    SPROUT_CHECK(f->name() != family->name(), Error, "register_model_family: model.kind '", family->name(),
                 "' is already registered");
  }
  registry().push_back(std::move(family));
}

std::vector<std::string> model_family_names() {
  std::vector<std::string> out;
  for (const auto& f : registry()) out.push_back(f->name());
  return out;
}

std::vector<FamilySetting> all_model_settings() {
  struct Use {
    std::string families, help, default_text;
  };
  std::vector<FamilySetting> out;
  std::vector<std::vector<Use>> uses;  // per setting of `out`: families with the same help and default
  std::map<std::string, size_t> index;
  for (const auto& f : registry()) {
    for (const auto& s : f->settings()) {
      auto [it, fresh] = index.emplace(s.key, out.size());
      if (fresh) {
        out.push_back(s);
        uses.emplace_back();
      }
      FamilySetting& shared = out[it->second];
      SPROUT_CHECK(shared.type == s.type, Error, "model.", s.key, " is declared with two types");
      // Families that agree on the default share it; otherwise each fills in its own
      // (Note [Family settings]).
      if (shared.default_text != s.default_text) shared.default_text = "";
      auto& u = uses[it->second];
      auto same = std::find_if(u.begin(), u.end(), [&](const Use& x) { return x.help == s.help && x.default_text == s.default_text; });
      if (same == u.end()) u.push_back({f->name(), s.help, s.default_text});
      else same->families += ", " + f->name();
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].help.clear();
    for (const auto& u : uses[i]) {
      out[i].help += concat(out[i].help.empty() ? "" : "; ", u.families, ": ", u.help);
      if (out[i].default_text.empty() && !u.default_text.empty()) out[i].help += " (default " + u.default_text + ")";
    }
  }
  return out;
}

std::string continuation_mismatch(const ArchSpec& stored, const ArchSpec& given) {
  if (stored.kind != given.kind) return concat("model.kind ", stored.kind, " is not ", given.kind);
  if (stored.in_channels != given.in_channels || stored.in_height != given.in_height ||
      stored.in_width != given.in_width || stored.classes != given.classes) {
    return "the data (input shape or classes) differs";
  }
  const ModelFamily& family = model_family(stored.kind);
  const DepthFamily* deep = dynamic_cast<const DepthFamily*>(&family);
  const ArchSpec current = deep ? deep->with_added_blocks(given, stored) : given;  // a depth-grown checkpoint
  const auto sites = family.group_widths(current);
  std::vector<std::string> stored_names, current_names;
  for (const auto& [name, width] : family.group_widths(stored)) stored_names.push_back(name);
  for (const auto& [name, width] : sites) current_names.push_back(name);
  if (stored_names != current_names) return "its width sites differ (another number of layers or blocks)";
  // Equal up to widths: the stored spec at the current widths is the current spec.
  const ArchSpec moved = family.with_site_widths(stored, {sites.begin(), sites.end()});
  if (moved.params != current.params) {
    // The first differing key in the family's own order (its settings, most general first).
    std::vector<std::string> ordered;
    for (const auto& setting : family.settings()) {
      if (current.params.count(setting.key)) ordered.push_back(setting.key);
    }
    for (const auto& kv : current.params) {
      if (std::find(ordered.begin(), ordered.end(), kv.first) == ordered.end()) ordered.push_back(kv.first);
    }
    for (const auto& key : ordered) {
      const std::string& value = current.params.at(key);
      auto it = moved.params.find(key);
      if (it == moved.params.end() || it->second != value) {
        return concat("model.", key, " differs (", it == moved.params.end() ? "unset" : it->second, " vs ", value, ")");
      }
    }
    return "its parameters differ";
  }
  return "";
}

}  // namespace sprout::growth
