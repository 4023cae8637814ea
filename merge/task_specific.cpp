// Task-specific selection (the survey's oracle row): every entry from the expert of the task
// being evaluated, task_specific.expert; θ = θ_0 + λ·τ_expert. Reference λ 1, so the merge is
// that expert itself. It needs to know the task of each test example, which class-incremental
// evaluation does not give: an upper bound for selection, not a usable merge. fedcl evaluates
// it per task, each task's test classes on the model of that task's experts
// (merge/README.md "Merge methods").
//
// As a collective: one Sum, the chosen expert contributing its task vector and every other 0.
#include "merge/method.h"
#include "runtime/error.h"

namespace sprout::merge {

namespace {

class TaskSpecific final : public MergeMethod {
 public:
  std::string name() const override { return "task_specific"; }
  double default_lambda(int64_t) const override { return 1.0; }

  TaskVectors::Tensors merge(TaskVectors& experts, double lambda, const MergeOptions& options) const override {
    // count() is agreed by every rank of a collective, so all refuse together, before any
    // reduction.
    SPROUT_CHECK(options.expert < experts.count(), ConfigError, "task_specific.expert: ", options.expert,
                 " but the merge has ", experts.count(), " experts (0-based)");
    const int64_t chosen = options.expert;
    const auto tau = experts.reduce_indexed(runtime::ReduceOp::Sum, [chosen](const TaskVectors::Tensors& t, int64_t e) {
      TaskVectors::Tensors out;
      for (const auto& x : t) out.push_back(e == chosen ? x : at::zeros_like(x));
      return out;
    });
    TaskVectors::Tensors out;
    for (size_t i = 0; i < tau.size(); ++i) out.push_back(experts.base()[i] + tau[i] * lambda);
    return out;
  }
};

}  // namespace

std::unique_ptr<MergeMethod> make_task_specific() { return std::make_unique<TaskSpecific>(); }

}  // namespace sprout::merge
