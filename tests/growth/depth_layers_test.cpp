// Depth growth of the plain families (growth/depth.h, growth/models/identity_layers.h):
// net2net's identity layers keep an mlp's and a cnn's function (batch-normed ones in eval
// mode), never rename a tensor, keep old optimizer state bit-exact, become width sites,
// and everything else is refused with one line.
#include <gtest/gtest.h>

#include "growth/depth.h"

#include <functional>

#include "growth/models/identity_layers.h"
#include "growth/schedule.h"
#include "growth_test_util.h"
#include "runtime/error.h"

namespace sprout::growth {
namespace {

using sprout::testing::LoneCommunicator;

struct Case {
  ArchSpec arch;
  std::string place;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (bool bn : {false, true}) {
    const auto mlp = complete(sprout::testing::mlp_arch(bn)), cnn = complete(sprout::testing::cnn_arch(bn));
    for (const char* place : {"fc1", "fc2"}) out.push_back({mlp, place});
    for (const char* place : {"conv1", "conv2", "fc1"}) out.push_back({cnn, place});
  }
  return out;
}

std::vector<AddedBlock> deepen(Model& m, const std::string& place, int64_t count, runtime::Optimizer* opt = nullptr,
                               const std::string& strategy = "net2net") {
  LoneCommunicator comm;
  runtime::SurgeryOptions so;
  so.context = "test depth " + place;
  runtime::Surgery surgery(comm, m.params(), opt, so);
  return grow_depth(surgery, m, place, count, strategy, 0, 99, opt);
}

std::string refusal_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DepthLayers, IdentityLayersKeepTheFunctionAndRenameNothing) {
  for (const auto& c : cases()) {
    for (int64_t count : {1, 2}) {
      const bool bn = c.arch.flag("batch_norm");
      SCOPED_TRACE(c.arch.kind + (bn ? " bn " : " ") + c.place + " +" + std::to_string(count));
      auto m = sprout::testing::trained_looking_model(c.arch, 4);
      auto twin = sprout::testing::trained_looking_model(c.arch, 4);
      const auto x = sprout::testing::random_batch(c.arch, 7, 5).x;
      const auto before = m->forward(x, false).detach();
      std::map<std::string, torch::Tensor> old;
      for (size_t i = 0; i < m->params().num_parameters(); ++i) {
        old[m->params().parameter_name(i)] = m->params().parameter(i).detach().clone();
      }
      for (const auto& n : m->params().buffer_names()) old[n] = m->params().buffer(n).clone();
      const int64_t version = m->params().version();

      const auto layers = deepen(*m, c.place, count);
      ASSERT_EQ(static_cast<int64_t>(layers.size()), count);
      EXPECT_GT(m->params().version(), version);  // the engine rebuilds its buckets
      EXPECT_LT(sprout::testing::max_rel_diff(m->forward(x, false).detach(), before), 1e-5);
      for (const auto& [name, value] : old) {
        const auto& now = m->params().has_parameter(name) ? m->params().parameter(name) : m->params().buffer(name);
        EXPECT_TRUE(now.detach().equal(value)) << name;
      }
      for (const auto& l : layers) {
        EXPECT_EQ(m->params().parameter(l.prefix + ".bias").abs().max().item<double>(), 0.0);
        EXPECT_EQ(l.norm.empty(), !bn);
      }
      // Train mode: exact without norms; with them the batch's statistics normalise the new
      // layer's input, so it is not the identity there (what growth/depth.h says).
      const double train_change =
          sprout::testing::max_rel_diff(m->forward(x, true).detach(), twin->forward(x, true).detach());
      if (bn) {
        EXPECT_GT(train_change, 1e-3);
      } else {
        EXPECT_LT(train_change, 1e-5);
      }
      // The architecture rebuilds the grown model, tensors in the same order.
      const auto arch = m->arch();
      EXPECT_EQ(arch, layers.back().arch);
      auto rebuilt = build_model(ArchSpec::parse(arch.serialize()), 1);
      EXPECT_EQ(rebuilt->params().parameter_names(), m->params().parameter_names());
      EXPECT_EQ(rebuilt->params().buffer_names(), m->params().buffer_names());
      for (size_t i = 0; i < m->params().num_parameters(); ++i) {
        rebuilt->params().set_parameter(m->params().parameter_name(i), m->params().parameter(i).detach().clone());
      }
      for (const auto& n : m->params().buffer_names()) rebuilt->params().set_buffer(n, m->params().buffer(n).clone());
      EXPECT_TRUE(rebuilt->forward(x, false).equal(m->forward(x, false)));
      EXPECT_EQ(continuation_mismatch(arch, c.arch), "");
      EXPECT_EQ(m->group_names(), rebuilt->group_names());
      // The family counts the new layers' cost.
      EXPECT_GT(model_family(arch.kind).layers(arch, {}).size(), model_family(arch.kind).layers(c.arch, {}).size());
    }
  }
}

TEST(DepthLayers, AnInsertedLayerIsAWidthSiteThatGrows) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.arch.kind + " " + c.place);
    auto m = sprout::testing::trained_looking_model(c.arch, 2);
    const auto x = sprout::testing::random_batch(c.arch, 6, 3).x;
    const auto before = m->forward(x, false).detach();
    const auto name = deepen(*m, c.place, 1).front().prefix;
    const int64_t width = m->site(name).width;
    LoneCommunicator comm;
    sprout::testing::GrowOptions o;
    o.strategy = "net2net";
    sprout::testing::grow_site(comm, *m, name, 3, nullptr, nullptr, o);
    sprout::testing::grow_site(comm, *m, c.place, 2, nullptr, nullptr, o);  // the layer before it too
    EXPECT_EQ(m->site(name).width, width + 3);
    EXPECT_LT(sprout::testing::max_rel_diff(m->forward(x, false).detach(), before), 1e-5);
    EXPECT_EQ(build_model(m->arch(), 1)->params().parameter_names(), m->params().parameter_names());
  }
}

TEST(DepthLayers, NamesFollowTheDocumentedNumbering) {
  auto m = build_model(sprout::testing::mlp_arch(true), 1);  // fc1 12, fc2 10, head fc3
  deepen(*m, "fc1", 1);
  deepen(*m, "fc2", 1);
  deepen(*m, "fc1", 1);
  const auto a = m->arch();
  EXPECT_EQ(a.params.at("inserted"), "2,1");
  EXPECT_EQ(a.params.at("inserted_widths"), "12,12,10");
  EXPECT_EQ(a.params.at("widths"), "12,10");
  const std::vector<std::string> want = {"fc1.weight",    "fc1.bias",      "bn_fc1.weight",   "bn_fc1.bias",
                                         "fc1_1.weight",  "fc1_1.bias",    "bn_fc1_1.weight", "bn_fc1_1.bias",
                                         "fc1_2.weight",  "fc1_2.bias",    "bn_fc1_2.weight", "bn_fc1_2.bias",
                                         "fc2.weight",    "fc2.bias",      "bn_fc2.weight",   "bn_fc2.bias",
                                         "fc2_1.weight",  "fc2_1.bias",    "bn_fc2_1.weight", "bn_fc2_1.bias",
                                         "fc3.weight",    "fc3.bias"};
  EXPECT_EQ(m->params().parameter_names(), want);
  // The identity: I and 0; the norm γ = sqrt(1 + eps) over the fresh statistics (0, 1).
  EXPECT_TRUE(m->params().parameter("fc2_1.weight").equal(torch::eye(10)));
  EXPECT_NEAR(m->params().parameter("bn_fc2_1.weight").min().item<double>(), std::sqrt(1 + 1e-5), 1e-7);
  EXPECT_EQ(m->params().parameter("bn_fc2_1.bias").abs().max().item<double>(), 0.0);
  EXPECT_EQ(m->site("fc2").consumer, "fc2_1");
  EXPECT_EQ(m->site("fc2_1").consumer, "fc3");

  auto c = build_model(sprout::testing::cnn_arch(false), 1);  // conv1 3, conv2 4 (8x8 -> 4x4 -> 2x2), fc1 6
  deepen(*c, "conv1", 1);
  EXPECT_EQ(c->arch().params.at("inserted"), "1,0,0");
  const auto& w = c->params().parameter("conv1_1.weight");
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{3, 3, 3, 3}));
  EXPECT_EQ(w.sum().item<double>(), 3.0);
  EXPECT_EQ(w[1][1][1][1].item<double>(), 1.0);  // Dirac: the centre tap of channel i -> i
  const auto site = c->site("conv1_1");
  EXPECT_FALSE(site.pooled);  // an inserted conv keeps the map: 4x4 in and out
  EXPECT_TRUE(c->site("conv1").pooled);
  EXPECT_EQ(site.consumer, "conv2");
  const auto costs = model_family("cnn").layers(c->arch(), {});
  ASSERT_EQ(costs[1].module, "conv1_1");
  EXPECT_EQ(costs[1].macs, 3 * 3 * 9 * 4 * 4);
  EXPECT_EQ(costs[2].macs, 3 * 4 * 9 * 4 * 4);  // conv2 still reads the 4x4 map
}

TEST(DepthLayers, OptimizerStateOfOldParametersIsBitExactAndNewStateZero) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.arch.kind + " " + c.place);
    auto m = sprout::testing::trained_looking_model(c.arch, 6);
    runtime::OptimizerOptions oo;
    oo.name = "adamw";
    auto opt = runtime::make_optimizer(oo);
    const auto b = sprout::testing::random_batch(c.arch, 6, 8);
    at::cross_entropy_loss(m->forward(b.x, true), b.y).backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : m->params().parameters()) grads.push_back(p.grad());
    opt->step(m->params(), grads, 0.01);
    m->params().zero_grad();
    std::map<std::string, runtime::Optimizer::Slots> before;
    for (const auto& [param, slots] : opt->state()) {
      for (const auto& [slot, t] : slots) before[param][slot] = t.clone();
    }
    const auto steps = opt->step_counts();
    const auto layer = deepen(*m, c.place, 1, opt.get()).front();
    for (const auto& [param, slots] : before) {
      for (const auto& [slot, t] : slots) EXPECT_TRUE(opt->state().at(param).at(slot).equal(t)) << param << " " << slot;
      EXPECT_EQ(opt->step_counts().at(param), steps.at(param)) << param;
    }
    int added = 0;
    for (const auto& name : m->params().parameter_names()) {
      if (before.count(name)) continue;
      ++added;
      const bool own =
          name.rfind(layer.prefix + ".", 0) == 0 || (!layer.norm.empty() && name.rfind(layer.norm + ".", 0) == 0);
      EXPECT_TRUE(own) << name;
      for (const auto& [slot, t] : opt->state().at(name)) EXPECT_EQ(t.abs().max().item<double>(), 0.0) << name;
      EXPECT_EQ(opt->step_counts().at(name), 0) << name;
    }
    EXPECT_EQ(added, layer.norm.empty() ? 2 : 4);
  }
}

TEST(DepthLayers, RefusalsAreOneLineNamingWhat) {
  const auto mlp = complete(sprout::testing::mlp_arch(false)), cnn = complete(sprout::testing::cnn_arch(true));
  for (const std::string strategy : {"random", "zeros", "gradmax", "vt"}) {
    const auto why = refusal_of([&] { check_depth_accepts(strategy, mlp, "fc1"); });
    EXPECT_NE(why.find("--growth.strategy " + strategy + " cannot grow model.kind mlp in depth"), std::string::npos)
        << why;
    EXPECT_NE(why.find("use net2net"), std::string::npos) << why;
  }
  auto why = refusal_of([&] { check_depth_accepts("adaptive", cnn, "conv1"); });
  EXPECT_NE(why.find("not implemented for layers (depth strategies of cnn: net2net)"), std::string::npos) << why;
  why = refusal_of([&] { check_depth_accepts("net2net", mlp, "fc3"); });  // the head
  EXPECT_NE(why.find("no place 'fc3' to add layers at (this mlp has: fc1, fc2)"), std::string::npos) << why;
  why = refusal_of([&] { check_depth_accepts("net2net", cnn, "fc2"); });
  EXPECT_NE(why.find("(this cnn has: conv1, conv2, fc1)"), std::string::npos) << why;
  why = refusal_of([&] { check_depth_accepts("net2net", cnn, "conv1_1"); });  // only after a hidden layer's run
  EXPECT_NE(why.find("no place 'conv1_1'"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos);
  EXPECT_EQ(refusal_of([&] { check_depth_accepts("net2net", cnn, "conv2"); }), "");
  // Events: "+Klayer" is a depth event; its place is checked like a block's.
  const auto e = parse_event("4:fc2:+2layers");
  EXPECT_TRUE(e.depth);
  EXPECT_EQ(e.unit, "layer");
  EXPECT_EQ(e.add, 2);
  EXPECT_EQ(parse_event("4:stage2:+1block").unit, "block");
  EXPECT_NE(refusal_of([] { validate_events({parse_event("3:fc9:+1layer")}, {}, 10, {"fc1", "fc2"}); })
                .find("no place 'fc9' to add layers at (this model has: fc1, fc2)"),
            std::string::npos);
  // Bad architecture text: one line naming the setting.
  ArchSpec bad = mlp;
  bad.set_ints("inserted", {1, 0, 0});
  EXPECT_NE(refusal_of([&] { complete(bad); }).find("model.inserted: '1,0,0' must give one count per hidden layer (2)"),
            std::string::npos);
  bad.set_ints("inserted", {1, 1});
  bad.set_ints("inserted_widths", {4});
  EXPECT_NE(refusal_of([&] { complete(bad); }).find("model.inserted_widths: '4' has 1 widths"), std::string::npos);
}

TEST(DepthLayers, OnlyACheckpointGrownInDepthContinuesADifferentDepth) {
  const auto base = complete(sprout::testing::mlp_arch(false));
  auto grown = add_blocks(base, "fc2", 2).back().arch;
  EXPECT_EQ(continuation_mismatch(grown, base), "");
  EXPECT_NE(continuation_mismatch(base, grown), "");  // a shallower checkpoint is another model
  const auto wider = complete(sprout::testing::mlp_arch(false, {12, 10, 10}));
  EXPECT_NE(continuation_mismatch(wider, base), "");  // a hidden layer from the start: another model
  // A layer widened after insertion keeps its stored width when the run continues.
  auto widened = model_family("mlp").with_site_widths(grown, {{"fc2_2", 14}});
  EXPECT_EQ(widened.params.at("inserted_widths"), "10,14");
  EXPECT_EQ(model_family("mlp").with_site_widths(base, {{"fc2", 11}}).params.at("widths"), "12,11");
  EXPECT_EQ(continuation_mismatch(widened, base), "");
  const auto* family = depth_family("mlp");
  EXPECT_EQ(family->with_added_blocks(base, widened).params.at("inserted_widths"), "10,14");
}

}  // namespace
}  // namespace sprout::growth
