// Note [PyTorch layout]: a model's tensors as a PyTorch state dict and back, for every
// built-in family, and the one-line refusal of every state dict that does not fit the
// architecture. The export files: the pt file reads back through LibTorch's unpickler
// (Python's torch.load reads it in tests/e2e/interop_test.sh).
#include <gtest/gtest.h>

#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>
#include <iterator>

#include "data/dataset.h"
#include "launch/train/stored_normalization.h"
#include "growth/models/model.h"
#include "launch/interop/export.h"
#include "launch/interop/import.h"
#include "launch/interop/torch_layout.h"
#include "test_util.h"

namespace sprout::launch {
namespace {

using testing::error_of;

growth::ArchSpec arch(const std::string& text) { return growth::ArchSpec::parse(text); }

const char* kFamilies[] = {
    "kind=mlp;in=1x28x28;classes=10;batch_norm=true;widths=12,8",
    "kind=cnn;in=3x16x16;classes=5;batch_norm=true;conv=4,6;widths=8",
    "kind=resnet;in=3x8x8;classes=4;depth=10;widen=1;inner=8,12,20",
    "kind=vit;in=3x8x8;classes=4;depth=2;dim=8;heads=2;patch=4;mlp=16;inner=16,24",
};

TEST(TorchLayout, EveryFamilyRoundTripsThroughItsStateDict) {
  for (const char* text : kFamilies) {
    const auto a = arch(text);
    const auto model = growth::build_model(a, 3);
    const auto state = torch_state_dict(a, model->params());
    const auto& p = model->params();
    ASSERT_EQ(state.size(), p.num_parameters() + p.buffer_names().size()) << text;
    for (const auto& [name, t] : state) {
      if (name.find("num_batches_tracked") != std::string::npos) {
        EXPECT_EQ(t.sizes(), torch::IntArrayRef({1})) << name;  // 1-d, as the issue of 0-d tensors asks
        EXPECT_EQ(t.scalar_type(), torch::kInt64);
      }
    }
    const auto back = sprout_params(a, state, "test");
    ASSERT_EQ(back.parameter_names(), p.parameter_names()) << text;
    ASSERT_EQ(back.buffer_names(), p.buffer_names()) << text;
    for (size_t i = 0; i < p.num_parameters(); ++i) EXPECT_TRUE(torch::equal(back.parameter(i), p.parameter(i)));
    for (size_t i = 0; i < p.buffers().size(); ++i) EXPECT_TRUE(torch::equal(back.buffers()[i], p.buffers()[i]));
  }
}

TEST(TorchLayout, VitPatchEmbeddingIsAConv2dWeight) {
  const auto a = arch(kFamilies[3]);
  const auto model = growth::build_model(a, 1);
  const auto& w = model->params().parameter("embed.weight");  // (D, C·p·p)
  const auto t = to_torch_shape(a, "embed.weight", w);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({8, 3, 4, 4}));
  // im2col's column order is (channel, row, column): a Conv2d(kernel p, stride p) on one
  // patch is the linear map of that patch's flattened pixels.
  const auto x = torch::randn({1, 3, 4, 4});
  const auto conv = at::conv2d(x, t, {}, {4, 4}).flatten();
  const auto lin = at::linear(x.reshape({1, -1}), w).flatten();
  EXPECT_TRUE(torch::allclose(conv, lin, 1e-5, 1e-6));
}

TEST(TorchLayout, AStateDictThatDoesNotFitIsRefusedNamingTheTensor) {
  const auto a = arch(kFamilies[0]);
  const auto good = torch_state_dict(a, growth::build_model(a, 0)->params());
  auto with = [&](const std::function<void(NamedTensors&)>& edit) {
    NamedTensors s = good;
    edit(s);
    return error_of([&] { sprout_params(a, s, "import 'x'"); });
  };
  auto find = [](NamedTensors& s, const std::string& name) -> torch::Tensor& {
    for (auto& [n, t] : s) {
      if (n == name) return t;
    }
    throw std::runtime_error("no " + name);
  };
  EXPECT_EQ(with([](NamedTensors&) {}), "(no error)");
  EXPECT_EQ(with([](NamedTensors& s) { s.erase(s.begin()); }),
            "import 'x': tensor fc1.weight is missing (the architecture 'mlp 784-12-8-10 bn' needs it)");
  EXPECT_EQ(with([](NamedTensors& s) { s.emplace_back("fc9.weight", torch::zeros({1})); }),
            "import 'x': tensor fc9.weight is not part of the architecture 'mlp 784-12-8-10 bn'");
  EXPECT_EQ(with([&](NamedTensors& s) { find(s, "fc2.weight") = torch::zeros({8, 13}); }),
            "import 'x': tensor fc2.weight has shape [8, 13]; the architecture 'mlp 784-12-8-10 bn' needs [8, 12]");
  EXPECT_EQ(with([&](NamedTensors& s) { find(s, "fc2.bias") = torch::zeros({8}, torch::kFloat64); }),
            "import 'x': tensor fc2.bias has dtype F64; it must be F32");
  EXPECT_EQ(with([&](NamedTensors& s) { find(s, "bn_fc1.num_batches_tracked") = torch::zeros({1}); }),
            "import 'x': tensor bn_fc1.num_batches_tracked has dtype F32; it must be I64");
  EXPECT_EQ(with([&](NamedTensors& s) { find(s, "fc1.bias") = find(s, "fc1.bias").clone().index_fill_(0, torch::tensor({0}), NAN); }),
            "import 'x': tensor fc1.bias holds NaN or infinite values");
  // torch.nn's own state_dict() has a 0-d counter: accepted.
  EXPECT_EQ(with([&](NamedTensors& s) { find(s, "bn_fc1.num_batches_tracked") = torch::tensor(int64_t{5}); }),
            "(no error)");
}

TEST(Export, PtFileHoldsTheStateDictAndTheMetadata) {
  testing::TempDir dir;
  const auto a = arch(kFamilies[1]);
  ExportedModel m;
  m.arch = a;
  m.state = torch_state_dict(a, growth::build_model(a, 2)->params());
  m.metadata = {{"architecture", a.serialize()}, {"input_mean", "0.5"}};
  const std::string path = dir.file("m.pt");
  write_export(path, m, ExportFormat::Pt);
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto top = torch::jit::pickle_load(bytes).toGenericDict();
  const auto state = top.at("state_dict").toGenericDict();
  ASSERT_EQ(state.size(), m.state.size());
  for (const auto& [name, t] : m.state) EXPECT_TRUE(torch::equal(state.at(name).toTensor(), t)) << name;
  EXPECT_EQ(top.at("metadata").toGenericDict().at("architecture").toStringRef(), a.serialize());
}

TEST(Export, OnlyAPlainForwardIsExported) {
  auto refusal = [](const std::string& config) {
    runtime::CheckpointContent c;
    c.root["config"] = config;
    return error_of([&] { require_plain_forward(c, "ck.h5"); });
  };
  EXPECT_EQ(refusal("model.adaptive = false\ntrain.mode = plain\n"), "(no error)");
  EXPECT_EQ(refusal("slim.attention = false\ntrain.mode = slimmable\n"), "(no error)");
  EXPECT_EQ(refusal("slim.attention = true\ntrain.mode = plain\n"), "(no error)");
  EXPECT_NE(refusal("model.adaptive = true\n").find("export: checkpoint 'ck.h5' is an adaptive-width run"),
            std::string::npos);
  EXPECT_NE(refusal("slim.attention = true\ntrain.mode = slimmable\n")
                .find("export: checkpoint 'ck.h5' is a slimmable run with slim.attention = true"),
            std::string::npos);
}

TEST(Export, InputIsNormalisedAsSproutTrains) {
  const auto images = torch::randint(0, 256, {2, 3, 4, 4}, torch::kInt64).to(torch::kUInt8);
  // One value: bit for bit what training feeds the model (data::to_input).
  EXPECT_TRUE(torch::equal(normalised_input(images, {{0.3}, {0.4}}), data::to_input(images, 0.3, 0.4)));
  // One per channel: channel c is (x / 255 - mean[c]) / std[c].
  const auto x = normalised_input(images, {{0.1, 0.2, 0.3}, {0.5, 0.25, 2.0}});
  for (int64_t c = 0; c < 3; ++c) {
    const double mean = 0.1 * (c + 1), stddev = c == 0 ? 0.5 : (c == 1 ? 0.25 : 2.0);
    EXPECT_TRUE(torch::allclose(x.select(1, c), data::to_input(images, mean, stddev).select(1, c), 1e-6, 1e-6)) << c;
  }
}

TEST(Import, TheCheckpointHoldsTheModelAndAFreshRun) {
  const auto a = arch(kFamilies[0]);
  const auto model = growth::build_model(a, 4);
  const auto c = imported_checkpoint(a, model->params(), InputNormalisation{{0.25}, {0.5}}, "in.safetensors");
  EXPECT_TRUE(torch::equal(c.find_tensor("/model/fc2/weight")->value, model->params().parameter("fc2.weight")));
  EXPECT_TRUE(torch::equal(c.find_tensor("/optimizer/fc2/weight/momentum_buffer")->value,
                           torch::zeros_like(model->params().parameter("fc2.weight"))));
  EXPECT_EQ(std::get<std::string>(c.find_group("/architecture")->at("spec")), a.serialize());
  const auto norm = stored_normalization(c, "imported");  // what training checkpoints hold too
  ASSERT_TRUE(norm.has_value());
  EXPECT_EQ(norm->mean, std::vector<double>{0.25});
  EXPECT_EQ(norm->stddev, std::vector<double>{0.5});
  EXPECT_EQ(std::get<int64_t>(c.root.at("step")), 0);
  EXPECT_NE(std::get<std::string>(c.root.at("config")).find("model.widths = 12,8"), std::string::npos);
}

}  // namespace
}  // namespace sprout::launch
