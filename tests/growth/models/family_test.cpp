#include "growth/models/family.h"

#include <gtest/gtest.h>

#include "growth/models/layers.h"
#include "growth/models/macs.h"
#include "growth/models/memory_estimate.h"
#include "growth/models/model.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A family defined outside growth/models/: one hidden layer of `hidden` units with its
// own setting and default, registered at run time. Everything generic (build, complete,
// checkpoint text, MACs, memory, continuation) must work on it through the seam alone.
class Tiny final : public Model {
 public:
  Tiny(const ArchSpec& spec, uint64_t seed) : spec_(spec) {
    auto gen = compat::make_generator(seed);
    add_linear(params_, "fc1", spec.in_channels * spec.in_height * spec.in_width, spec.integer("hidden"), gen);
    add_linear(params_, "fc2", spec.integer("hidden"), spec.classes, gen);
  }
  torch::Tensor forward(const torch::Tensor& x, const ForwardOptions&) override {
    return linear(params_, "fc2", activation(linear(params_, "fc1", x.reshape({x.size(0), -1}))));
  }
  std::vector<WidthSite> sites() const override {
    WidthSite s;
    s.name = s.producer = "fc1";
    s.consumer = "fc2";
    s.width = params_.parameter("fc1.weight").size(0);
    return {s};
  }
  ArchSpec arch() const override {
    ArchSpec a = spec_;
    a.set_integer("hidden", params_.parameter("fc1.weight").size(0));
    return a;
  }

 private:
  ArchSpec spec_;
};

class TinyFamily final : public ModelFamily {
 public:
  std::string name() const override { return "tiny-test"; }
  std::vector<FamilySetting> settings() const override {
    return {{"hidden", FamilySetting::Type::Integer, "7", "hidden units"},
            {"widths", FamilySetting::Type::Ints, "1,2,3", "unused: shares a key with mlp, another default"}};
  }
  void validate(const ArchSpec& spec) const override {
    SPROUT_CHECK(spec.integer("hidden") > 0, ConfigError, "model.hidden: ", spec.integer("hidden"), " must be > 0");
  }
  std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const override {
    return std::make_unique<Tiny>(spec, seed);
  }
  std::string describe(const ArchSpec& spec) const override { return concat("tiny ", spec.integer("hidden")); }
  std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const override {
    return {{"fc1", spec.integer("hidden")}};
  }
  ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& widths) const override {
    if (auto it = widths.find("fc1"); it != widths.end()) spec.set_integer("hidden", it->second);
    return spec;
  }
  std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const override {
    auto it = active.find("fc1");
    const int64_t h = it == active.end() ? spec.integer("hidden") : it->second;
    const int64_t in = spec.in_channels * spec.in_height * spec.in_width;
    LayerCost a{"fc1", in, h, in * h, double(in * h + h), 0, 0, 3.0 * h};
    LayerCost b{"fc2", h, spec.classes, h * spec.classes, double(h * spec.classes + spec.classes), 0, 0,
                3.0 * spec.classes};
    return {a, b};
  }
  std::string width_options(const ArchSpec& spec) const override { return "--model.hidden " + spec.params.at("hidden"); }
};

void register_tiny_once() {
  static const bool done = [] {
    register_model_family(std::make_unique<TinyFamily>());
    return true;
  }();
  (void)done;
}

TEST(ModelFamily, RegistryListsFamiliesAndNamesTheUnknown) {
  const auto names = model_family_names();
  EXPECT_EQ(names.at(0), "mlp");
  EXPECT_EQ(names.at(1), "cnn");
  const std::string msg = error_of([] { model_family("rnn"); });
  EXPECT_NE(msg.find("model.kind: unknown model 'rnn' (expected one of mlp, cnn"), std::string::npos) << msg;
}

TEST(ModelFamily, CompleteFillsDefaultsDropsForeignKeysAndCanonicalises) {
  ArchSpec s;
  s.params["widths"] = " 64 , 32";
  s.params["conv"] = "8";  // a cnn setting: an mlp does not read it
  s.params["batch_norm"] = "true";
  const ArchSpec c = complete(s);
  EXPECT_EQ(c.params, (std::map<std::string, std::string>{
                          {"batch_norm", "true"}, {"inserted", ""}, {"inserted_widths", ""}, {"widths", "64,32"}}));
  ArchSpec cnn;
  cnn.kind = "cnn";
  EXPECT_EQ(complete(cnn).params, (std::map<std::string, std::string>{{"batch_norm", "false"},
                                                                      {"conv", "32,64"},
                                                                      {"inserted", ""},
                                                                      {"inserted_widths", ""},
                                                                      {"widths", "256,256"}}));
  s.params["batch_norm"] = "maybe";
  EXPECT_NE(error_of([&] { complete(s); }).find("model.batch_norm: 'maybe' is not a boolean"), std::string::npos);
}

TEST(ModelFamily, ParsesTheFirstCheckpointFormat) {
  // What checkpoints wrote before families had their own parameters.
  const auto old_mlp = ArchSpec::parse("kind=mlp;in=1x28x28;classes=10;conv=;widths=256,128;bn=1");
  EXPECT_EQ(old_mlp.serialize(), "kind=mlp;in=1x28x28;classes=10;batch_norm=true;inserted=;inserted_widths=;widths=256,128");
  const auto old_cnn = ArchSpec::parse("kind=cnn;in=1x28x28;classes=10;conv=4,8;widths=16;bn=0");
  EXPECT_EQ(old_cnn.ints("conv"), (std::vector<int64_t>{4, 8}));
  EXPECT_FALSE(old_cnn.flag("batch_norm"));
  EXPECT_EQ(ArchSpec::parse(old_cnn.serialize()), old_cnn);
  // A stored architecture names nothing its family does not read, and nothing twice.
  EXPECT_NE(error_of([] { ArchSpec::parse("kind=mlp;widths=4;heads=2"); }).find("unknown field 'heads' for kind mlp"),
            std::string::npos);
  EXPECT_NE(error_of([] { ArchSpec::parse("kind=mlp;widths=4;widths=5"); }).find("repeated"), std::string::npos);
  EXPECT_NE(error_of([] { ArchSpec::parse("kind=mlp;classes=1,2"); }).find("classes"), std::string::npos);
}

// The memory estimate counts exactly the parameters and buffers each family builds.
TEST(ModelFamily, EveryFamilysLayerCostsCountWhatItBuilds) {
  for (const std::string kind : {"mlp", "cnn", "resnet", "vit"}) {
    for (bool bn : {false, true}) {
      ArchSpec s;
      s.kind = kind;
      s.set_ints("widths", {12, 7});
      s.set_ints("conv", {5, 6});
      s.set_flag("batch_norm", bn);
      s = complete(s);
      SCOPED_TRACE(s.describe());
      const auto m = build_model(s, 0);
      double params = 0, buffers = 0;
      for (const auto& p : m->params().parameters()) params += static_cast<double>(p.numel());
      for (const auto& b : m->params().buffers()) buffers += static_cast<double>(b.numel());
      const auto e = estimate_training_memory(s, 1, 0);
      EXPECT_EQ(e.parameters, params);
      EXPECT_EQ(e.buffers, buffers);
      const auto sites = m->sites();
      const auto listed = site_widths(s);  // without building
      ASSERT_EQ(listed.size(), sites.size());
      for (size_t i = 0; i < sites.size(); ++i) {
        EXPECT_EQ(listed[i].first, sites[i].name);
        EXPECT_EQ(listed[i].second, sites[i].width);
      }
    }
  }
}

TEST(ModelFamily, ContinuationAllowsOtherWidthsOnly) {
  ArchSpec a;
  a.set_ints("widths", {16, 8});
  a = complete(a);
  ArchSpec wider = a;
  wider.set_ints("widths", {40, 8});
  EXPECT_EQ(continuation_mismatch(a, wider), "");
  ArchSpec deeper = a;
  deeper.set_ints("widths", {16, 8, 4});
  EXPECT_NE(continuation_mismatch(a, deeper).find("width sites differ"), std::string::npos);
  ArchSpec normed = a;
  normed.set_flag("batch_norm", true);
  EXPECT_NE(continuation_mismatch(a, normed).find("model.batch_norm differs"), std::string::npos);
  ArchSpec cnn;
  cnn.kind = "cnn";
  EXPECT_NE(continuation_mismatch(a, complete(cnn)).find("model.kind mlp is not cnn"), std::string::npos);
  ArchSpec colour = a;
  colour.in_channels = 3;
  EXPECT_NE(continuation_mismatch(a, colour).find("the data"), std::string::npos);
}

TEST(ModelFamily, SharedSettingsKeepOneOptionWithEachFamilysDefault) {
  register_tiny_once();
  std::map<std::string, FamilySetting> by_key;
  for (const auto& s : all_model_settings()) {
    EXPECT_TRUE(by_key.emplace(s.key, s).second) << "model." << s.key << " listed twice";
  }
  // mlp and cnn agree on batch_norm's default; tiny-test disagrees on widths'.
  EXPECT_EQ(by_key.at("batch_norm").default_text, "false");
  EXPECT_EQ(by_key.at("widths").default_text, "");
  EXPECT_NE(by_key.at("widths").help.find("mlp, cnn: hidden widths"), std::string::npos) << by_key.at("widths").help;
  EXPECT_NE(by_key.at("widths").help.find("(default 256,256)"), std::string::npos);
  EXPECT_NE(by_key.at("widths").help.find("tiny-test: unused"), std::string::npos);
  EXPECT_EQ(by_key.at("hidden").default_text, "7");
  EXPECT_THROW(register_model_family(std::make_unique<TinyFamily>()), Error);
}

TEST(ModelFamily, ARegisteredFamilyWorksThroughTheSeamAlone) {
  register_tiny_once();
  ArchSpec s;
  s.kind = "tiny-test";
  s.in_height = s.in_width = 4;
  const auto m = build_model(s, 3);  // completed: hidden = 7
  EXPECT_EQ(m->forward(torch::randn({2, 1, 4, 4}), false).sizes(), (std::vector<int64_t>{2, 10}));
  const ArchSpec stored = ArchSpec::parse(m->arch().serialize());  // what a checkpoint keeps
  EXPECT_EQ(stored.integer("hidden"), 7);
  EXPECT_EQ(stored.describe(), "tiny 7");
  const auto rebuilt = build_model(stored, 3);
  EXPECT_TRUE(rebuilt->params().parameter("fc1.weight").equal(m->params().parameter("fc1.weight")));
  EXPECT_EQ(macs_per_example(stored), 16 * 7 + 7 * 10);
  EXPECT_EQ(macs_per_example(stored, {{"fc1", 3}}), 16 * 3 + 3 * 10);
  EXPECT_NE(error_of([&] { macs_per_example(stored, {{"fc1", 8}}); }).find("outside [1, 7]"), std::string::npos);
  EXPECT_EQ(estimate_training_memory(stored, 1, 0).parameters, 16 * 7 + 7 + 7 * 10 + 10);
  const auto grown = with_site_widths(stored, {{"fc1", 9}});
  EXPECT_EQ(continuation_mismatch(stored, grown), "");
  EXPECT_EQ(site_widths(grown), (std::vector<std::pair<std::string, int64_t>>{{"fc1", 9}}));
  ArchSpec bad = s;
  bad.set_integer("hidden", 0);
  EXPECT_NE(error_of([&] { build_model(bad, 0); }).find("model.hidden: 0 must be > 0"), std::string::npos);
}

}  // namespace
}  // namespace sprout::growth
