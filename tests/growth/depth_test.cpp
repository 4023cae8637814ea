// Depth growth (growth/depth.h): blocks added to a ResNet stage and after a ViT's last block
// keep the function, never rename a tensor, insert tensors where a rebuilt model has them,
// keep old optimizer state bit-exact, and are refused with one line where they cannot run.
#include <gtest/gtest.h>

#include "growth/depth.h"

#include <cmath>
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

// A ResNet-16: blocks 1, 2 in stage 1, 3, 4 in stage 2, 5, 6 in stage 3.
ArchSpec resnet16() {
  ArchSpec a = sprout::testing::resnet_arch();
  a.set_integer("depth", 16);
  a.set_ints("inner", {6, 5, 7, 4, 6, 5});
  return complete(a);
}

std::vector<Case> cases() {
  const auto resnet = complete(sprout::testing::resnet_arch()), vit = complete(sprout::testing::vit_arch());
  return {{resnet, "stage1"}, {resnet, "stage2"}, {resnet, "stage3"}, {resnet16(), "stage2@1"}, {vit, "blocks"}};
}

std::vector<AddedBlock> deepen(Model& m, const std::string& place, int64_t count, const std::string& strategy,
                               runtime::Optimizer* opt = nullptr, const GrowthBatch* batch = nullptr,
                               StrategyOptions options = {}) {
  LoneCommunicator comm;
  runtime::SurgeryOptions so;
  so.context = "test depth " + place;
  runtime::Surgery surgery(comm, m.params(), opt, so);
  const auto own = sprout::testing::random_batch(m.arch(), 8, 3);
  return grow_depth(surgery, m, place, count, strategy, 0, 99, opt, batch ? batch : &own, options);
}

TEST(DepthGrowth, NewBlocksKeepTheFunctionAndRenameNothing) {
  for (const auto& c : cases()) {
    for (const std::string strategy : {"random", "zeros", "gradmax", "vt"}) {
      for (int64_t count : {1, 2}) {
        SCOPED_TRACE(c.arch.kind + " " + c.place + " " + strategy + " +" + std::to_string(count));
        auto m = sprout::testing::trained_looking_model(c.arch, 4);
        const auto x = sprout::testing::random_batch(c.arch, 7, 5).x;
        const auto before = m->forward(x, false).detach();
        std::map<std::string, torch::Tensor> old;
        for (size_t i = 0; i < m->params().num_parameters(); ++i) {
          old[m->params().parameter_name(i)] = m->params().parameter(i).detach().clone();
        }
        for (const auto& n : m->params().buffer_names()) old[n] = m->params().buffer(n).clone();
        const int64_t version = m->params().version();

        const auto blocks = deepen(*m, c.place, count, strategy);
        ASSERT_EQ(static_cast<int64_t>(blocks.size()), count);
        EXPECT_GT(m->params().version(), version);  // the engine rebuilds its buckets
        EXPECT_LT(sprout::testing::max_rel_diff(m->forward(x, false).detach(), before), 1e-5);
        // Old tensors keep their names and values; new ones belong to the new blocks only.
        for (const auto& [name, value] : old) {
          const auto& now = m->params().has_parameter(name) ? m->params().parameter(name) : m->params().buffer(name);
          EXPECT_TRUE(now.detach().equal(value)) << name;
        }
        const auto arch = m->arch();
        EXPECT_EQ(arch, blocks.back().arch);
        for (const auto& b : blocks) {
          const auto zero = zero_started(b, strategy);
          for (const auto& z : zero) EXPECT_EQ(m->params().parameter(z).abs().max().item<double>(), 0.0) << z;
          for (const auto* list : {&b.zero, &b.partners}) {
            for (const auto& p : *list) {
              if (std::find(zero.begin(), zero.end(), p) != zero.end()) continue;
              const double peak = m->params().parameter(p).abs().max().item<double>();
              if (strategy == "zeros") {
                EXPECT_EQ(peak, 0.0) << p;
              } else if (p.find("weight") != std::string::npos) {
                EXPECT_GT(peak, 0.0) << p;
              }
            }
          }
        }
        // The architecture rebuilds the grown model, tensors in the same order, and round-trips as text.
        auto rebuilt = build_model(ArchSpec::parse(arch.serialize()), 1);
        EXPECT_EQ(rebuilt->params().parameter_names(), m->params().parameter_names());
        EXPECT_EQ(rebuilt->params().buffer_names(), m->params().buffer_names());
        for (size_t i = 0; i < m->params().num_parameters(); ++i) {
          EXPECT_EQ(rebuilt->params().parameter(i).sizes(), m->params().parameter(i).sizes());
          rebuilt->params().set_parameter(m->params().parameter_name(i), m->params().parameter(i).detach().clone());
        }
        for (const auto& n : m->params().buffer_names()) rebuilt->params().set_buffer(n, m->params().buffer(n).clone());
        EXPECT_TRUE(rebuilt->forward(x, false).equal(m->forward(x, false)));
        // Train mode too: the new block adds exactly 0 whatever the batch statistics.
        auto twin = sprout::testing::trained_looking_model(c.arch, 4);
        EXPECT_LT(sprout::testing::max_rel_diff(m->forward(x, true).detach(), twin->forward(x, true).detach()), 1e-5);
        // A checkpoint of the grown model continues the run that started shallow.
        EXPECT_EQ(continuation_mismatch(arch, c.arch), "");
        // Its new blocks are width sites like the others.
        EXPECT_EQ(m->group_names(), rebuilt->group_names());
      }
    }
  }
}

TEST(DepthGrowth, NamesFollowTheDocumentedNumbering) {
  auto r = build_model(sprout::testing::resnet_arch(), 1);
  deepen(*r, "stage2", 1, "random");
  EXPECT_TRUE(r->params().has_parameter("block4.conv2.weight"));
  const auto a = r->arch();
  EXPECT_EQ(a.params.at("blocks"), "1,2,1");
  EXPECT_EQ(a.params.at("order"), "1,2,4,3");
  EXPECT_EQ(a.integer("depth"), 12);
  EXPECT_EQ(a.ints("inner"), (std::vector<int64_t>{6, 5, 7, 5}));  // block 4 copies block 2's inner width
  // block4 sits between block2 and block3: its tensors before block3's.
  const auto& names = r->params().parameter_names();
  const auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  EXPECT_LT(at("block2.conv2.bias"), at("block4.bn1.weight"));
  EXPECT_LT(at("block4.conv2.bias"), at("block3.bn1.weight"));
  deepen(*r, "stage2", 1, "random");
  EXPECT_EQ(r->arch().params.at("order"), "1,2,4,5,3");

  // Inside a stage: block7 runs between blocks 3 and 4 of stage 2, two at once in the order added.
  auto mid = build_model(resnet16(), 1);
  deepen(*mid, "stage2@1", 2, "random");
  EXPECT_EQ(mid->arch().params.at("order"), "1,2,3,7,8,4,5,6");
  EXPECT_EQ(mid->arch().ints("inner"), (std::vector<int64_t>{6, 5, 7, 4, 6, 5, 7, 7}));  // block 3's inner width
  EXPECT_EQ(mid->site("block7.conv1").width, 7);
  deepen(*mid, "stage3@2", 1, "random");  // @count: appended
  EXPECT_EQ(mid->arch().params.at("order"), "1,2,3,7,8,4,5,6,9");

  auto v = build_model(sprout::testing::vit_arch(), 1);
  deepen(*v, "blocks", 1, "zeros");
  EXPECT_EQ(v->arch().integer("depth"), 3);
  EXPECT_TRUE(v->params().has_parameter("block3.fc2.weight"));
  EXPECT_EQ(v->site("block3.heads").width, 2);
}

TEST(DepthGrowth, OptimizerStateOfOldParametersIsBitExactAndNewStateZero) {
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
    const auto blocks = deepen(*m, c.place, 1, "vt", opt.get());
    for (const auto& [param, slots] : before) {
      for (const auto& [slot, t] : slots) EXPECT_TRUE(opt->state().at(param).at(slot).equal(t)) << param << " " << slot;
      EXPECT_EQ(opt->step_counts().at(param), steps.at(param)) << param;
    }
    int added = 0;
    for (const auto& name : m->params().parameter_names()) {
      if (before.count(name)) continue;
      ++added;
      EXPECT_EQ(name.rfind(blocks.front().prefix + ".", 0), 0u) << name;
      for (const auto& [slot, t] : opt->state().at(name)) EXPECT_EQ(t.abs().max().item<double>(), 0.0) << name;
      EXPECT_EQ(opt->step_counts().at(name), 0) << name;
    }
    EXPECT_GT(added, 0);
    // vt: each new tensor learns at ‖W_new‖/‖W_like‖ (1 for the zero-started layers).
    const auto& nb = blocks.front();
    for (const auto& name : nb.partners) {
      if (name.find("weight") == std::string::npos) continue;
      const auto* scale = opt->lr_scale(name);
      ASSERT_NE(scale, nullptr) << name;
      const std::string like = nb.like + name.substr(nb.prefix.size());
      const double want = m->params().parameter(name).norm().item<double>() /
                          m->params().parameter(like).norm().item<double>();
      EXPECT_NEAR(scale->max().item<double>(), want, 1e-6 * want) << name;
      EXPECT_EQ(scale->min().item<double>(), scale->max().item<double>()) << name;
    }
    for (const auto& name : nb.zero) EXPECT_EQ(opt->lr_scale(name)->max().item<double>(), 1.0) << name;
    // And the next step trains the whole grown model.
    at::cross_entropy_loss(m->forward(b.x, true), b.y).backward();
    grads.clear();
    for (const auto& p : m->params().parameters()) grads.push_back(p.grad());
    opt->step(m->params(), grads, 0.01);
    for (const auto& z : blocks.front().zero) EXPECT_GT(m->params().parameter(z).abs().max().item<double>(), 0.0) << z;
  }
}

std::string refusal_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// GradMax for a block: the gradient norm of the zero-started fan-in, measured by autograd on
// the growth batch, is c·sqrt(Σσ²) of the probe's M per site (the ResNet's BN in eval mode
// scales it by 1/sqrt(1+eps)), and beats random orthogonal fan-outs with the same norms.
TEST(DepthGrowth, GradMaxBlockTakesTheTopSingularDirectionsAndBeatsRandom) {
  const auto resnet = complete(sprout::testing::resnet_arch()), vit = complete(sprout::testing::vit_arch());
  for (const auto& [arch, place] : std::vector<std::pair<ArchSpec, std::string>>{{resnet, "stage2"}, {vit, "blocks"}}) {
    SCOPED_TRACE(arch.kind);
    auto m = sprout::testing::trained_looking_model(arch, 5);
    const auto batch = sprout::testing::random_batch(arch, 12, 9);
    StrategyOptions fixed;
    fixed.scale_mode = "fixed";
    fixed.scale = 0.7;
    const auto planned = add_blocks(m->arch(), place, 1);
    LoneCommunicator comm;
    const auto stats = depth_gradmax_statistics(comm, *m, planned, batch, 99);
    ASSERT_FALSE(stats.empty());
    const double bn = arch.kind == "resnet" ? 1.0 / std::sqrt(1.0 + 1e-5) : 1.0;
    const auto blocks = deepen(*m, place, 1, "gradmax", nullptr, &batch, fixed);
    double expected_sq = 0;  // Σ over the block's sites of c²·(σ_1² + … + σ_k²), k its new columns
    for (const auto& [group, mat] : stats) {
      const auto site = m->site(group);
      const int64_t k = site.width * (site.inner() ? 1 : arch.integer("head_dim"));
      const auto sv = at::linalg_svdvals(mat);
      expected_sq += fixed.scale * fixed.scale * sv.narrow(0, 0, std::min(k, sv.size(0))).pow(2).sum().item<double>();
    }
    const auto fan_in = zero_started(blocks.front(), "gradmax");
    std::vector<std::string> weights;
    for (const auto& n : fan_in) {
      if (n.find("weight") != std::string::npos) weights.push_back(n);
    }
    const double measured = parameters_grad_norm(comm, *m, weights, batch);
    EXPECT_NEAR(measured, bn * std::sqrt(expected_sq), 1e-4 * measured);
    // Random orthogonal fan-outs of the same column norm give a smaller gradient to the inner
    // site's fan-in (GradMax's optimum is over orthogonal columns of norm c; k = 5 columns in
    // a space of 288 (ResNet) or 8 (ViT) dimensions — the ViT's 2 heads fill all 8 dimensions
    // of theirs, where every orthonormal choice is as good, so they are left out).
    const std::string inner = blocks.front().prefix + (arch.kind == "resnet" ? ".conv1" : ".fc1");
    const std::string chosen = blocks.front().prefix + (arch.kind == "resnet" ? ".conv2" : ".fc2");
    const double best = parameters_grad_norm(comm, *m, {inner + ".weight"}, batch);
    auto gen = compat::make_generator(17);
    for (int draw = 0; draw < 5; ++draw) {
      {
        torch::NoGradGuard no_grad;
        const auto& w = m->params().parameter(chosen + ".weight");
        // Columns (the units' fan-out) of norm c: conv2 (out, in, 3, 3) / fc2 (out, in).
        auto r = at::randn(w.sizes(), gen, w.scalar_type());
        auto cols = r.transpose(0, 1).reshape({w.size(1), -1});  // (k, F_out)
        cols = std::get<0>(at::linalg_qr(cols.t(), "reduced")).t() * fixed.scale;  // orthonormal rows, norm c
        m->params().set_parameter(chosen + ".weight",
                                  cols.reshape(r.transpose(0, 1).sizes()).transpose(0, 1).contiguous());
      }
      EXPECT_LT(parameters_grad_norm(comm, *m, {inner + ".weight"}, batch), best) << "draw " << draw;
    }
  }
}

TEST(DepthGrowth, RefusalsAreOneLineNamingWhat) {
  const auto resnet = complete(sprout::testing::resnet_arch());
  auto why = refusal_of([&] { check_depth_accepts("net2net", resnet, "stage2"); });
  EXPECT_NE(why.find("--growth.strategy net2net cannot grow model.kind resnet in depth"), std::string::npos) << why;
  why = refusal_of([&] { check_depth_accepts("adaptive", complete(sprout::testing::vit_arch()), "blocks"); });
  EXPECT_NE(why.find("--growth.strategy adaptive cannot grow model.kind vit in depth: not implemented"),
            std::string::npos)
      << why;
  why = refusal_of([&] { check_depth_accepts("random", complete(sprout::testing::mlp_arch(false)), "fc1"); });
  EXPECT_NE(why.find("--growth.strategy random cannot grow model.kind mlp in depth"), std::string::npos) << why;
  for (const std::string place : {"stage2@0", "stage2@2", "stage2@x"}) {  // stage 2 has 1 block
    why = refusal_of([&] { add_blocks(resnet, place, 1); });
    EXPECT_NE(why.find("'" + place + "'"), std::string::npos) << why;
  }
  EXPECT_NE(refusal_of([&] { add_blocks(resnet, "stage2@0", 1); }).find("a block goes at a position 1..1 of stage2"),
            std::string::npos);
  why = refusal_of([&] { check_depth_accepts("random", resnet, "stage4"); });
  EXPECT_NE(why.find("no place 'stage4'"), std::string::npos) << why;
  EXPECT_NE(why.find("stage1, stage2, stage3"), std::string::npos) << why;
  for (const auto& w : {why}) EXPECT_EQ(w.find('\n'), std::string::npos);
}

TEST(DepthGrowth, SchedulesTakeDepthEventsBesideWidthEvents) {
  const auto e = parse_event("10:stage2:+1block");
  EXPECT_TRUE(e.depth);
  EXPECT_EQ(e.site, "stage2");
  EXPECT_EQ(e.add, 1);
  const auto two = parse_event("4:blocks:2blocks");
  EXPECT_TRUE(two.depth);
  EXPECT_EQ(two.add, 2);
  EXPECT_FALSE(parse_event("4:stage2:+8").depth);
  EXPECT_NE(refusal_of([] { parse_event("4:stage2:+0block"); }).find("K must be > 0"), std::string::npos);
  EXPECT_NE(refusal_of([] { parse_event("4:stage2:+xblock"); }).find("not an integer"), std::string::npos);
  const std::vector<std::string> places = {"stage1", "stage2", "stage3"}, sites = {"stage1", "stage2"};
  // Width and depth events of one step keep the order given.
  auto events = validate_events({parse_event("5:stage2:+4"), parse_event("3:stage2:+1block"),
                                 parse_event("5:stage1:+1block")},
                                sites, 10, places);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(events[0].depth);
  EXPECT_FALSE(events[1].depth);
  EXPECT_TRUE(events[2].depth);
  EXPECT_NE(refusal_of([&] { validate_events({parse_event("3:stage7:+1block")}, sites, 10, places); })
                .find("no place 'stage7' to add blocks at (this model has: stage1, stage2, stage3)"),
            std::string::npos);
  EXPECT_NE(refusal_of([&] { validate_events({parse_event("10:stage1:+1block")}, sites, 10, places); })
                .find("is beyond the run"),
            std::string::npos);
  EXPECT_NE(refusal_of([&] { validate_events({parse_event("3:blocks:+1block")}, sites, 10, {}); })
                .find("cannot grow in depth"),
            std::string::npos);
  EXPECT_EQ(final_widths(events, {{"stage2", 8}}).at("stage2"), 12);  // depth events add no units
}

TEST(DepthGrowth, OnlyACheckpointGrownInDepthContinuesADifferentDepth) {
  const auto base = complete(sprout::testing::resnet_arch());
  auto grown = add_blocks(base, "stage3", 2).back().arch;
  EXPECT_EQ(continuation_mismatch(grown, base), "");
  ArchSpec deeper = sprout::testing::resnet_arch();
  deeper.set_integer("depth", 16);
  deeper.set_ints("inner", {});
  deeper = complete(deeper);
  EXPECT_NE(continuation_mismatch(deeper, base), "");  // 2 blocks per stage from the start: another model
  // Bad architecture text is one line naming the setting.
  ArchSpec bad = grown;
  bad.params["order"] = "1,2,2,4,5";
  EXPECT_NE(refusal_of([&] { complete(bad); }).find("model.order"), std::string::npos);
  bad = grown;
  bad.set_integer("depth", 10);
  EXPECT_NE(refusal_of([&] { complete(bad); }).find("does not match model.blocks"), std::string::npos);
}

}  // namespace
}  // namespace sprout::growth
