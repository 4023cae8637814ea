// byo_train: a program of one's own on sprout, built against the installed package.
//
//   mpiexec -n 2 byo_train DATA OUT_DIR               train, grow, checkpoint, restore, merge
//   mpiexec -n 2 byo_train DATA OUT_DIR grow-module   a growth schedule on a module: refused
//   mpiexec -n 2 byo_train DATA OUT_DIR bench [STEPS] throughput: nn::Module vs the seam's MLP
//
// DATA is an HDF5 data set (a file ending in .h5, data/README.md "HDF5 data sets") or a
// directory of Fashion-MNIST's IDX files. Rank 0 prints one line per result.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdio>
#include <string>
#include <vector>

#include <sprout/sprout.h>

#include "growable_mlp.h"

namespace {

using sprout::api::Session;
using sprout::api::Training;
using Args = std::vector<std::string>;

// A plain torch::nn::Module, written as a PyTorch user writes one.
struct NetImpl : torch::nn::Module {
  NetImpl(int64_t in, const std::vector<int64_t>& hidden, int64_t classes) {
    for (size_t i = 0; i <= hidden.size(); ++i) {
      const int64_t out = i < hidden.size() ? hidden[i] : classes;
      layers.push_back(register_module("fc" + std::to_string(i + 1), torch::nn::Linear(in, out)));
      in = out;
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    x = x.flatten(1);
    for (size_t i = 0; i + 1 < layers.size(); ++i) x = torch::relu(layers[i](x));
    return layers.back()(x);
  }
  std::vector<torch::nn::Linear> layers;
};
TORCH_MODULE(Net);

int64_t inputs_of(const sprout::growth::ArchSpec& s) { return s.in_channels * s.in_height * s.in_width; }

Args operator+(Args a, const Args& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void say(const Session& s, const std::string& line) {
  if (!s.is_root()) return;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// (a) A growable model of our own family (growable_mlp.cpp), grown by one event at step 20.
void train_growable(Session& session, const Args& common, const std::string& out) {
  Training run(session, common + Args{"--model.kind", "growable_mlp", "--model.hidden", "32", "--train.steps", "40",
                                      "--growth.event", "20:fc1:+32", "--checkpoint.dir", out + "/growable",
                                      "--checkpoint.at_end", "true"});
  const int64_t before = run.model().widths().at("fc1");
  const auto result = run.run();
  say(session, sprout::concat("growable: fc1 ", before, " -> ", result.widths.at("fc1"), ", test accuracy ",
                              result.test.accuracy));
}

// (b) A torch::nn::Module: trained, checkpointed, restored and merged like a built-in model.
void train_module(Session& session, const Args& common, const std::string& out) {
  const std::string dir = out + "/module";
  {
    Training run(session, common + Args{"--model.kind", "byo_net", "--train.steps", "40", "--checkpoint.dir", dir,
                                        "--checkpoint.every", "20"});
    const auto result = run.run();
    say(session, sprout::concat("module: test accuracy ", result.test.accuracy));
  }
  {
    Training restored(session, common + Args{"--init.from", dir + "/step-00000040.h5"});
    say(session, sprout::concat("restored: test accuracy ", restored.evaluate().accuracy));
  }
  sprout::merge::OfflineMergeOptions merge;
  merge.method = "magmax";
  merge.base = dir + "/step-00000020.h5";
  merge.experts = {dir + "/step-00000040.h5"};
  merge.out = out + "/merged.h5";
  sprout::merge::merge_checkpoint_files(session.comm(), merge);
  Training merged(session, common + Args{"--init.from", merge.out});
  say(session, sprout::concat("merged: test accuracy ", merged.evaluate().accuracy));
}

// The engine's throughput on the same MLP twice: as a torch::nn::Module and as sprout's
// built-in mlp (the model seam), in the order seam, module, module, seam (a drift of the
// machine's load hits both alike); each figure is the mean of its two runs.
void bench(Session& session, const Args& common, const std::string& steps) {
  sprout::api::register_module("byo_mlp", [](const sprout::growth::ArchSpec& s) {
    return Net(inputs_of(s), std::vector<int64_t>{256, 256}, s.classes);
  });
  const Args seam{"--model.kind", "mlp", "--model.widths", "256,256"}, module{"--model.kind", "byo_mlp"};
  double seam_sps = 0, module_sps = 0;
  for (const Args* kind : {&seam, &module, &module, &seam}) {
    Training run(session, common + *kind + Args{"--train.steps", steps});
    (kind == &seam ? seam_sps : module_sps) += run.run().samples_per_s / 2;
  }
  say(session, sprout::concat("bench: ", session.size(), " ranks, seam mlp ", static_cast<int64_t>(seam_sps),
                              " samples/s, torch::nn::Module ", static_cast<int64_t>(module_sps),
                              " samples/s, module/seam ", module_sps / seam_sps));
}

}  // namespace

int main(int argc, char** argv) {
  Session session(argc, argv);
  const Args args(argv + 1, argv + argc);
  const std::string mode = args.size() > 2 ? args[2] : "train";
  if (args.size() < 2 || (mode != "train" && mode != "grow-module" && mode != "bench")) {
    if (session.is_root()) std::fprintf(stderr, "usage: byo_train DATA OUT_DIR [grow-module | bench [STEPS]]\n");
    return 2;
  }
  return session.run([&] {
    // Families are registered before any Training reads options (their settings are options).
    register_growable_mlp();
    sprout::api::register_module("byo_net", [](const sprout::growth::ArchSpec& s) {
      return Net(inputs_of(s), std::vector<int64_t>{64}, s.classes);
    });
    const std::string& data = args[0];
    const bool hdf5 = data.size() > 3 && data.compare(data.size() - 3, 3, ".h5") == 0;
    const Args source = hdf5 ? Args{"--data.name", "hdf5", "--data.path", data} : Args{"--data.dir", data};
    const Args common = source + Args{"--train.batch", "64", "--optim.name", "adamw", "--optim.lr", "0.002",
                                      "--log.progress", "none"};
    if (mode == "bench") return bench(session, common, args.size() > 3 ? args[3] : "300");
    if (mode == "grow-module") {
      Training refused(session, common + Args{"--model.kind", "byo_net", "--growth.event", "10:fc1:+8"});
      return;
    }
    train_growable(session, common, args[1]);
    train_module(session, common, args[1]);
  });
}
