#include "runtime/surgery/surgery.h"

#include <cstdlib>
#include <sstream>

#include "runtime/error.h"
#include "runtime/comm/fingerprint.h"
#include "runtime/optim/optimizer.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {

int test_corrupt_rank_from_env() {
  const char* v = std::getenv("SPROUT_TEST_CORRUPT_RANK");
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long r = std::strtol(v, &end, 10);
  return end && *end == '\0' && r >= 0 ? static_cast<int>(r) : -1;
}

Surgery::Surgery(Communicator& comm, ParamSet& params, Optimizer* optimizer, SurgeryOptions options)
    : comm_(comm), params_(params), optimizer_(optimizer), options_(std::move(options)) {
  SPROUT_CHECK(options_.root >= 0 && options_.root < comm_.size(), Error, options_.context, ": root ",
               options_.root, " is not a rank of a world of ", comm_.size());
}

void Surgery::advance(Phase from, Phase to, const char* what) {
  SPROUT_CHECK(phase_ == from, Error, options_.context, ": surgery phase '", what,
               "' called out of order (see Note [Surgery ordering])");
  phase_ = to;
}

void Surgery::quiesce(int64_t step) {
  advance(Phase::Created, Phase::Quiesced, "quiesce");
  // max(step) and max(-step) in one allreduce: equal iff every rank is at `step`.
  auto t = torch::tensor({step, -step}, torch::kInt64);
  comm_.allreduce(t, ReduceOp::Max);
  const int64_t hi = t[0].item<int64_t>(), lo = -t[1].item<int64_t>();
  SPROUT_CHECK(hi == lo, SurgeryError, options_.context, ": ranks are at different steps (", lo, " to ", hi,
               "); surgery needs every rank at the same step boundary");
  params_.zero_grad();  // gradients of the old tensors are meaningless afterwards
}

void Surgery::decide(const std::string& decision) {
  advance(Phase::Quiesced, Phase::Decided, "decide");
  const std::string root_decision = broadcast_string(comm_, decision, options_.root);
  const int64_t differ = allreduce_int(comm_, root_decision == decision ? 0 : 1, ReduceOp::Max);
  SPROUT_CHECK(differ == 0, SurgeryError, options_.context, ": ranks disagree on the surgery (rank ",
               options_.root, ": '", root_decision, "'; rank ", comm_.rank(), ": '", decision, "')");
}

namespace {

std::string manifest_of(const SurgeryPlan& plan) {
  std::ostringstream os;
  auto add = [&os](char kind, const SurgeryPlan::Named& list) {
    for (const auto& [name, t] : list) {
      SPROUT_CHECK(t.defined(), Error, "surgery plan: tensor '", name, "' is undefined");
      SPROUT_CHECK(name.find_first_of(" \n") == std::string::npos, Error, "surgery plan: bad name '", name, "'");
      os << kind << ' ' << name << ' ' << static_cast<int>(t.scalar_type()) << ' ' << t.dim();
      for (auto d : t.sizes()) os << ' ' << d;
      os << '\n';
    }
  };
  add('p', plan.parameters);
  add('b', plan.buffers);
  add('s', plan.lr_scales);
  return os.str();
}

// Allocates empty tensors for the entries of a manifest (non-root ranks).
SurgeryPlan plan_from_manifest(const std::string& manifest) {
  SurgeryPlan plan;
  std::istringstream in(manifest);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    char kind = 0;
    std::string name;
    int dtype = 0;
    int64_t dims = 0;
    ls >> kind >> name >> dtype >> dims;
    std::vector<int64_t> shape(static_cast<size_t>(dims));
    for (auto& d : shape) ls >> d;
    auto t = torch::empty(shape, torch::dtype(static_cast<torch::ScalarType>(dtype)));
    auto& list = kind == 'p' ? plan.parameters : kind == 'b' ? plan.buffers : plan.lr_scales;
    list.emplace_back(name, t);
  }
  return plan;
}

}  // namespace

SurgeryPlan Surgery::compute_on_root(const std::function<SurgeryPlan()>& fn) {
  advance(Phase::Decided, Phase::Computed, "compute_on_root");
  SurgeryPlan plan;
  std::string manifest;
  if (is_root()) {
    try {
      plan = fn();
      for (auto* list : {&plan.parameters, &plan.buffers, &plan.lr_scales}) {
        // On the host: the plan is broadcast like the manifest says (CPU tensors on every
        // rank) and installed on each parameter's own device by apply().
        for (auto& [name, t] : *list) t = t.detach().to(torch::kCPU).contiguous();
      }
      manifest = manifest_of(plan);
    } catch (const std::exception& e) {
      manifest = std::string("!") + e.what();  // every rank learns of the failure
    }
  }
  manifest = broadcast_string(comm_, manifest, options_.root);
  SPROUT_CHECK(manifest.empty() || manifest[0] != '!', SurgeryError, options_.context,
               ": computing the new tensors failed on rank ", options_.root, ": ", manifest.substr(1));
  if (!is_root()) plan = plan_from_manifest(manifest);
  for (auto* list : {&plan.parameters, &plan.buffers, &plan.lr_scales}) {
    for (auto& entry : *list) {
      if (entry.second.numel() > 0) comm_.broadcast(entry.second, options_.root);
    }
  }
  return plan;
}

void Surgery::apply(const SurgeryPlan& plan) {
  advance(Phase::Computed, Phase::Applied, "apply");
  torch::NoGradGuard no_grad;
  for (const auto& [name, value] : plan.parameters) {
    SPROUT_CHECK(params_.has_parameter(name), SurgeryError, options_.context, ": no parameter named '", name, "'");
    const auto& old = params_.parameter(name);
    const bool reshaped = old.sizes() != value.sizes();
    params_.set_parameter(name, value.to(old.device(), /*non_blocking=*/false, /*copy=*/true));
    if (optimizer_ && reshaped) optimizer_->resize_state(name, value.sizes());
  }
  for (const auto& [name, value] : plan.buffers) {
    SPROUT_CHECK(params_.has_buffer(name), SurgeryError, options_.context, ": no buffer named '", name, "'");
    params_.set_buffer(name, value.to(params_.buffer(name).device(), /*non_blocking=*/false, /*copy=*/true));
  }
  for (const auto& [name, scale] : plan.lr_scales) {
    SPROUT_CHECK(params_.has_parameter(name), SurgeryError, options_.context, ": lr scale for unknown parameter '",
                 name, "'");
    SPROUT_CHECK(params_.parameter(name).sizes() == scale.sizes(), SurgeryError, options_.context, ": lr scale of '",
                 name, "' has shape ", shape_string(scale.sizes()), ", the parameter ",
                 shape_string(params_.parameter(name).sizes()));
    if (optimizer_) optimizer_->set_lr_scale(name, scale.to(params_.parameter(name).device(), false, true));
  }
  if (options_.test_corrupt_rank == comm_.rank() && !plan.parameters.empty()) {
    // Test hook: this replica now differs from the others in exactly one element.
    const auto& p = params_.parameter(plan.parameters.front().first);
    p.detach().view({-1})[0].add_(1e-3);
  }
}

void Surgery::commit() {
  advance(Phase::Applied, Phase::Committed, "commit");
  params_.bump_version();
  params_.zero_grad();
  verify_identical(comm_, params_, optimizer_, options_.context);
}

}  // namespace sprout::runtime
