// Helpers of the growth tests: a one-rank communicator for single-process tests, small
// models, batches, and a one-call growth.
#pragma once

#include <torch/types.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "growth/models/model.h"
#include "growth/strategies/strategy.h"
#include "runtime/comm/communicator.h"
#include "runtime/optim/optimizer.h"
#include "runtime/surgery/surgery.h"
#include "runtime/torch_compat.h"

namespace sprout::testing {

// A world of one rank: every collective is the identity.
class LoneCommunicator final : public runtime::Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "lone"; }
  void allreduce(torch::Tensor&, runtime::ReduceOp) override {}
  std::shared_ptr<runtime::Work> allreduce_async(torch::Tensor, runtime::ReduceOp) override {
    struct Done final : runtime::Work {
      void wait() override {}
      bool test() override { return true; }
    };
    return std::make_shared<Done>();
  }
  void broadcast(torch::Tensor&, int) override {}
  torch::Tensor allgather(const torch::Tensor& t) override { return t.unsqueeze(0).clone(); }
  void barrier() override {}
  std::unique_ptr<runtime::Communicator> split(int, int) override { return std::make_unique<LoneCommunicator>(); }
  [[noreturn]] void abort(int) override { std::abort(); }
};

inline growth::ArchSpec mlp_arch(bool bn, std::vector<int64_t> widths = {12, 10}) {
  growth::ArchSpec a;
  a.in_channels = 1;
  a.in_height = a.in_width = 6;
  a.set_ints("widths", std::move(widths));
  a.set_flag("batch_norm", bn);
  return a;
}

inline growth::ArchSpec cnn_arch(bool bn) {
  growth::ArchSpec a;
  a.kind = "cnn";
  a.in_channels = 2;
  a.in_height = a.in_width = 8;
  a.set_ints("conv", {3, 4});
  a.set_ints("widths", {6});
  a.set_flag("batch_norm", bn);
  return a;
}

// A pre-activation ResNet-10 on 2×8×8 inputs: blocks 1 (stride 1), 2 and 3 (stride 2,
// 1×1 shortcuts), inner widths 6, 5, 7 (sites block<b>.conv1).
inline growth::ArchSpec resnet_arch() {
  growth::ArchSpec a;
  a.kind = "resnet";
  a.in_channels = 2;
  a.in_height = a.in_width = 8;
  a.set_ints("inner", {6, 5, 7});
  return a;
}

// A vision Transformer on 1×8×8 inputs: 4×4 patches (5 tokens), width 8, 2 heads, MLP
// widths 6 and 5 (sites block<b>.fc1, GELU, over tokens).
inline growth::ArchSpec vit_arch() {
  growth::ArchSpec a;
  a.kind = "vit";
  a.in_height = a.in_width = 8;
  a.set_integer("patch", 4);
  a.set_integer("dim", 8);
  a.set_integer("heads", 2);
  a.set_integer("depth", 2);
  a.set_ints("inner", {6, 5});
  return a;
}

// A model whose batch-norm statistics and affine parameters are not the trivial ones.
inline std::unique_ptr<growth::Model> trained_looking_model(const growth::ArchSpec& arch, uint64_t seed) {
  auto m = growth::build_model(arch, seed);
  torch::manual_seed(static_cast<uint64_t>(seed) + 100);
  torch::NoGradGuard no_grad;
  auto& p = m->params();
  for (size_t i = 0; i < p.num_parameters(); ++i) {
    const auto& name = p.parameter_name(i);
    const bool norm = name.find("bn") != std::string::npos || name.find(".ln") != std::string::npos;
    if (norm) p.parameter(i).add_(torch::randn_like(p.parameter(i)) * 0.3);
  }
  for (int k = 0; k < 3; ++k) m->forward(torch::randn({16, arch.in_channels, arch.in_height, arch.in_width}), true);
  return m;
}

inline growth::GrowthBatch random_batch(const growth::ArchSpec& arch, int64_t n, uint64_t seed, int64_t global = -1) {
  auto gen = compat::make_generator(seed);
  growth::GrowthBatch b;
  b.x = at::randn({n, arch.in_channels, arch.in_height, arch.in_width}, gen, torch::kFloat32);
  b.y = at::randint(arch.classes, {n}, gen, torch::kInt64);
  b.global_size = global > 0 ? global : n;
  return b;
}

struct GrowOptions {
  std::string strategy = "gradmax";
  growth::StrategyOptions options;
  uint64_t seed = 7;
  int64_t step = 0;
  std::map<std::string, int64_t> initial_widths;  // empty: the current widths
};

// Grows `site` of `model` by `k` through the full surgery transaction on `comm`.
inline runtime::SurgeryPlan grow_site(runtime::Communicator& comm, growth::Model& model, const std::string& site,
                                      int64_t k, const growth::GrowthBatch* batch, runtime::Optimizer* opt = nullptr,
                                      GrowOptions o = {}) {
  auto strategy = growth::make_strategy(o.strategy);
  growth::GrowthContext ctx;
  ctx.comm = &comm;
  ctx.model = &model;
  ctx.site = model.site(site);
  ctx.add = k;
  ctx.batch = batch;
  ctx.options = o.options;
  ctx.optimizer = opt;
  ctx.initial_widths = o.initial_widths.empty() ? model.widths() : o.initial_widths;
  runtime::SurgeryOptions so;
  so.context = "test growth " + site;
  runtime::Surgery surgery(comm, model.params(), opt, so);
  return growth::grow(surgery, *strategy, ctx, o.step, o.seed);
}

inline double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-12, b.abs().max().item<double>());
}

}  // namespace sprout::testing
