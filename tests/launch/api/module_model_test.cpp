// A torch::nn::Module as a sprout model (launch/api/module_model.h): built through its
// family, checkpoint-style replacement and merges reach the module, and what needs width
// sites is refused with one line.
#include <gtest/gtest.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "growth/models/memory_estimate.h"
#include "launch/api/module_model.h"
#include "merge/tensor_bundle.h"
#include "runtime/error.h"

namespace sprout::api {
namespace {

// Registered once per process: "unit_seq" (flatten, Linear, ReLU, Linear) and "unit_bad"
// (3 logits whatever the classes).
void register_test_modules() {
  static const bool once = [] {
    register_module("unit_seq", [](const growth::ArchSpec& s) {
      return torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(s.in_channels * s.in_height * s.in_width, 8),
                                   torch::nn::ReLU(), torch::nn::Linear(8, s.classes));
    });
    register_module("unit_bad", [](const growth::ArchSpec& s) { return torch::nn::Linear(s.in_height, 3); });
    return true;
  }();
  (void)once;
}

growth::ArchSpec spec_of(const std::string& kind) {
  growth::ArchSpec s;
  s.kind = kind;
  s.in_channels = 1;
  s.in_height = s.in_width = 4;
  s.classes = 5;
  return s;
}

ModuleModel& as_module(growth::Model& m) { return dynamic_cast<ModuleModel&>(m); }

TEST(ModuleModel, BindsTheModulesTensorsUnderTheirNames) {
  register_test_modules();
  auto model = growth::build_model(spec_of("unit_seq"), 1);
  const auto& p = model->params();
  EXPECT_EQ(p.parameter_names(), (std::vector<std::string>{"1.weight", "1.bias", "3.weight", "3.bias"}));
  const auto module_params = as_module(*model).module().parameters();
  for (size_t i = 0; i < module_params.size(); ++i) EXPECT_TRUE(p.parameter(i).is_same(module_params[i])) << i;
  EXPECT_TRUE(model->sites().empty());
  EXPECT_EQ(model->forward(torch::zeros({2, 1, 4, 4}), true).sizes(), torch::IntArrayRef({2, 5}));
  // Equal seeds build equal modules (the family seeds LibTorch's generator).
  auto again = growth::build_model(spec_of("unit_seq"), 1);
  EXPECT_TRUE(again->params().parameter(0).equal(p.parameter(0)));
}

TEST(ModuleModel, ReplacedAndMergedValuesReachTheModulesForward) {
  register_test_modules();
  auto a = growth::build_model(spec_of("unit_seq"), 1), b = growth::build_model(spec_of("unit_seq"), 2);
  const auto x = torch::randn({3, 1, 4, 4});
  ASSERT_FALSE(a->forward(x, false).equal(b->forward(x, false)));
  // A checkpoint restore installs tensors with set_parameter.
  for (size_t i = 0; i < a->params().num_parameters(); ++i) {
    b->params().set_parameter(a->params().parameter_name(i), a->params().parameter(i).clone());
  }
  EXPECT_TRUE(a->forward(x, false).equal(b->forward(x, false)));
  // A merge writes its result in place (merge/tensor_bundle.h).
  auto c = growth::build_model(spec_of("unit_seq"), 3);
  merge::copy_into(c->params(), merge::bundle_from(a->params()));
  EXPECT_TRUE(a->forward(x, false).equal(c->forward(x, false)));
}

TEST(ModuleModel, WidthChangesAndSiteOptionsAreRefusedInOneLine) {
  register_test_modules();
  try {
    growth::with_site_widths(spec_of("unit_seq"), {{"1", 16}});
    FAIL() << "a width change on a module was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model unit_seq declares no width groups"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(growth::site_widths(spec_of("unit_seq")).empty());
  auto model = growth::build_model(spec_of("unit_seq"), 1);
  growth::ForwardTrace trace;
  growth::ForwardOptions o;
  o.trace = &trace;
  EXPECT_THROW(model->forward(torch::zeros({1, 1, 4, 4}), o), ConfigError);
}

TEST(ModuleModel, LogitsOfTheWrongShapeAreRefused) {
  register_test_modules();
  auto model = growth::build_model(spec_of("unit_bad"), 1);
  try {
    model->forward(torch::zeros({2, 4}), false);  // Linear(4, 3) on 4 features
    FAIL() << "3 logits for 5 classes were accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model unit_bad: forward returned shape [2, 3]"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sprout::api
