#include "merge/method.h"

#include <cmath>

#include "runtime/error.h"

namespace sprout::merge {

// One line per method; each factory lives in the method's own file.
std::unique_ptr<MergeMethod> make_magmax();
std::unique_ptr<MergeMethod> make_average();
std::unique_ptr<MergeMethod> make_task_arithmetic();
std::unique_ptr<MergeMethod> make_ties();
std::unique_ptr<MergeMethod> make_soft_magmax();
std::unique_ptr<MergeMethod> make_random_selection();
std::unique_ptr<MergeMethod> make_task_specific();

namespace {

void ties_settings(runtime::SettingSink& s, MergeOptions& o) {
  s.add("density", &o.density, "ties: fraction of each tensor's task vector kept");
}
void soft_magmax_settings(runtime::SettingSink& s, MergeOptions& o) {
  s.add("temperature", &o.temperature, "soft_magmax: temperature T of softmax(|tau_i| / T) over the experts");
}
void random_settings(runtime::SettingSink& s, MergeOptions& o) {
  s.add("seed", &o.seed, "random: seed of the expert drawn for each entry");
}
void task_specific_settings(runtime::SettingSink& s, MergeOptions& o) {
  s.add("expert", &o.expert, "task_specific: index (0-based, in the experts' order) of the expert taken");
}

struct Entry {
  const char* name;
  std::unique_ptr<MergeMethod> (*make)();
  void (*settings)(runtime::SettingSink&, MergeOptions&);  // null: none of its own
};

const Entry kMethods[] = {
    {"magmax", make_magmax, nullptr},
    {"average", make_average, nullptr},
    {"task_arithmetic", make_task_arithmetic, nullptr},
    {"ties", make_ties, ties_settings},
    {"soft_magmax", make_soft_magmax, soft_magmax_settings},
    {"random", make_random_selection, random_settings},
    {"task_specific", make_task_specific, task_specific_settings},
};

}  // namespace

std::vector<std::string> merge_method_names() {
  std::vector<std::string> out;
  for (const auto& e : kMethods) out.push_back(e.name);
  return out;
}

void declare_method_settings(const std::string& name, runtime::SettingSink& sink, MergeOptions& options) {
  for (const auto& e : kMethods) {
    if (name == e.name && e.settings) e.settings(sink, options);
  }
}

std::unique_ptr<MergeMethod> make_merge_method(const std::string& name) {
  for (const auto& e : kMethods) {
    if (name == e.name) return e.make();
  }
  std::string known;
  for (const auto& e : kMethods) known += std::string(known.empty() ? "" : ", ") + e.name;
  throw ConfigError(concat("unknown merge method '", name, "' (known: ", known, ")"));
}

void validate(const MergeOptions& options, const std::string& prefix, const std::string& separator) {
  auto option = [&](const char* method, const char* key) { return concat("--", prefix, method, separator, key); };
  SPROUT_CHECK(std::isfinite(options.density) && options.density > 0 && options.density <= 1, ConfigError,
               option("ties", "density"), ": ", options.density, " must be in (0, 1]");
  SPROUT_CHECK(std::isfinite(options.temperature) && options.temperature > 0, ConfigError,
               option("soft_magmax", "temperature"), ": ", options.temperature, " must be a finite number > 0");
  SPROUT_CHECK(options.seed >= 0, ConfigError, option("random", "seed"), ": ", options.seed, " must be >= 0");
  SPROUT_CHECK(options.expert >= 0, ConfigError, option("task_specific", "expert"), ": ", options.expert,
               " must be >= 0");
}

double resolve_lambda(const MergeMethod& method, const MergeOptions& options, int64_t experts,
                      const std::string& option) {
  if (!options.lambda) return method.default_lambda(experts);
  const double l = *options.lambda;
  SPROUT_CHECK(method.takes_lambda(), ConfigError, "--", option, ": ", method.name(),
               " has no lambda (it is the mean of the experts)");
  SPROUT_CHECK(std::isfinite(l), ConfigError, "--", option, ": ", l, " is not a finite number");
  return l;
}

}  // namespace sprout::merge
