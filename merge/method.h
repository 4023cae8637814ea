// MergeMethod: a function of (θ_0, experts) -> merged tensors, written on task vectors
// τ_i = θ_i − θ_0 and their reductions over experts (merge/task_vectors.h), so the same
// code merges one tensor streamed from files, a whole model in memory, or a model spread
// over node groups as a collective (merge/collective.h). The formulas and their papers:
// merge/README.md "Merge methods".
//
// One method per file (magmax.cpp, average.cpp, task_arithmetic.cpp, ties.cpp,
// soft_magmax.cpp, random_selection.cpp, task_specific.cpp), listed by name in the table in
// method.cpp.
//
// Contract: merge() is deterministic, element-wise apart from what a method documents
// (TIES trims each tensor by its own magnitudes), calls experts.reduce() the same number
// of times whatever the data (collective safety), and returns float64 tensors shaped like
// experts.base(). Callers convert to the model's dtype.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "merge/task_vectors.h"
#include "runtime/settings.h"

namespace sprout::merge {

struct MergeOptions {
  std::optional<double> lambda;  // unset: the method's reference value (default_lambda)
  double density = 0.2;          // ties: fraction of each tensor's task vector kept, (0, 1]
  double temperature = 0.01;     // soft_magmax: T of softmax(|τ_i| / T), > 0
  int64_t seed = 0;              // random: the draw of an expert per entry
  int64_t expert = 0;            // task_specific: the expert whose entries are taken (0-based)
};

class MergeMethod {
 public:
  virtual ~MergeMethod() = default;
  virtual std::string name() const = 0;
  // False for methods without a scaling coefficient (average); setting one is an error.
  virtual bool takes_lambda() const { return true; }
  // The reference λ for `experts` task vectors (merge/README.md "Merge methods").
  virtual double default_lambda(int64_t experts) const = 0;
  // θ = the merged tensors (float64, shaped like experts.base()).
  virtual TaskVectors::Tensors merge(TaskVectors& experts, double lambda, const MergeOptions& options) const = 0;
};

// The method called `name`; ConfigError listing the known names otherwise.
std::unique_ptr<MergeMethod> make_merge_method(const std::string& name);
// Every registered name, in table order: magmax, average, task_arithmetic, ties,
// soft_magmax, random, task_specific.
std::vector<std::string> merge_method_names();
// Declares the settings method `name` alone reads (ties: "density", soft_magmax:
// "temperature", random: "seed", task_specific: "expert"), bound to `options`' fields;
// nothing for a method without any. Callers choose the option names (merge: "ties.density",
// fedcl: "fedcl.ties_density").
void declare_method_settings(const std::string& name, runtime::SettingSink& sink, MergeOptions& options);

// The λ a merge of `experts` task vectors uses: options.lambda if set, else the method's
// default. ConfigError (naming `option`) when λ is not finite, or is set for a method
// without one, or density is outside (0, 1].
double resolve_lambda(const MergeMethod& method, const MergeOptions& options, int64_t experts,
                      const std::string& option = "lambda");
// ConfigError naming the option (prefix + method + separator + key: "ties.density",
// "fedcl.soft_magmax_temperature") when a method setting is out of range: density outside
// (0, 1], temperature not finite and > 0, seed or expert negative.
void validate(const MergeOptions& options, const std::string& prefix = "", const std::string& separator = ".");

}  // namespace sprout::merge
