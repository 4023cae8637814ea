#include "growth/models/model.h"

#include "growth/models/family.h"

#include "runtime/error.h"
#include "runtime/error_message.h"

namespace sprout::growth {

int64_t ForwardOptions::active_width(const std::string& site) const {
  if (!active) return -1;
  auto it = active->find(site);
  return it == active->end() ? -1 : it->second;
}

torch::Tensor ForwardOptions::known_output(const std::string& module) const {
  if (!known_outputs) return {};
  auto it = known_outputs->find(module);
  return it == known_outputs->end() ? torch::Tensor() : it->second;
}

std::string WidthSite::group_kind() const {
  switch (group) {
    case Group::Inner: return "inner";
    case Group::Heads: return "heads";
    case Group::Residual: return "residual";
  }
  return "?";
}

WidthSite Model::site(const std::string& name) const {
  const auto all = groups();
  for (auto& s : all) {
    if (s.name == name) return s;
  }
  std::string known;
  for (auto& s : all) known += (known.empty() ? "" : ", ") + s.name;
  throw ConfigError(concat("unknown width site '", name, "' (this model has: ", known, ")"));
}

std::map<std::string, int64_t> Model::group_widths() const {
  std::map<std::string, int64_t> out;
  for (auto& s : groups()) out[s.name] = s.width;
  return out;
}

std::vector<std::string> Model::group_names() const {
  std::vector<std::string> out;
  for (auto& s : groups()) out.push_back(s.name);
  return out;
}

std::map<std::string, int64_t> Model::widths() const {
  std::map<std::string, int64_t> out;
  for (auto& s : sites()) out[s.name] = s.width;
  return out;
}

std::vector<std::string> Model::site_names() const {
  std::vector<std::string> out;
  for (auto& s : sites()) out.push_back(s.name);
  return out;
}

std::unique_ptr<Model> build_model(const ArchSpec& given, uint64_t seed) {
  const ArchSpec spec = complete(given);
  try {
    return model_family(spec.kind).build(spec, seed);
  } catch (const std::exception& e) {
    // Say what was being allocated; other failures pass through unchanged.
    if (!runtime::is_allocation_failure(e)) throw;
    throw Error(concat("building the model ", spec.describe(), ": ", runtime::error_line(e)));
  }
}

}  // namespace sprout::growth
