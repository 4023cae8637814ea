// `sprout eval --checkpoint FILE|DIR [--width all|R|dynamic|oracle] [--gate_confidence C,…] [--truncate all|N|F]`:
// test accuracy, loss, average MACs per example and examples/s of any checkpoint:
//  - a plain run (or a merged model): the model as trained, one row;
//  - an adaptive-width run (model.adaptive = true): --truncate evaluates it cut to N units
//    or a fraction F of every adaptive site (launch/adaptive/eval.h; default: the learned width);
//  - a slimmable run (train.mode = slimmable): at a width ratio, with the dynamic gate, or
//    all of them (launch/slimmable/eval.h).
// The model is rebuilt from the checkpoint's architecture and configuration; the test split
// is the run's (data.* options as stored; --data.dir / --data.path point elsewhere), and
// the input normalisation the checkpoint stores (launch/train/stored_normalization.h),
// else the training data's. Runs on any number of ranks (reading and evaluating are
// collective); rank 0 prints one line per width and, last on stdout, a JSON summary.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "growth/adaptive/adaptive.h"
#include "data/idx.h"
#include "launch/adaptive/eval.h"
#include "launch/checkpoint/run_state.h"
#include "launch/cli/checkpoint_path.h"
#include "launch/cli/rank_agreement.h"
#include "launch/cli/commands.h"
#include "launch/slimmable/eval.h"
#include "launch/train/stored_normalization.h"
#include "launch/train/train_config.h"
#include "growth/models/macs.h"
#include <sys/stat.h>

#include "runtime/checkpoint/reader.h"
#include "runtime/checkpoint/store.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"
#include "runtime/engine/threads.h"

namespace sprout::launch {

namespace {

struct EvalOptions {
  std::string checkpoint;
  std::string width = "all";
  std::vector<double> gate_confidence;
  std::string truncate;
  int64_t eval_batch = 1000;
  std::string data_dir;
  std::string data_path;
  int threads = 0;
};

void bind_eval_options(OptionBinder& b, EvalOptions& e) {
  b.add("checkpoint", &e.checkpoint, "checkpoint file of a `sprout train` run (plain, slimmable or adaptive) or of "
                                     "`sprout merge`, or its directory (the checkpoint `latest` names); required");
  b.add("width", &e.width, "slimmable checkpoints: all | a ratio of the run's slim.ratios | dynamic | oracle");
  b.add("gate_confidence", &e.gate_confidence,
        "with --width dynamic|all: also route by the gate's cumulative probability, one row per value in (0, 1], "
        "e.g. 0.6,0.8,0.9 (larger: wider, more accurate); default: argmax only");
  b.add("truncate", &e.truncate, "adaptive-width checkpoints: all | N units per site | a fraction F in (0, 1] "
                                 "(with a '.'); default: the learned width");
  b.add("eval_batch", &e.eval_batch, "test examples per forward");
  b.add("data.dir", &e.data_dir, "directory of the test data (default: the run's)");
  b.add("data.path", &e.data_path, "HDF5 file of the test data, for a data.name=hdf5 run (default: the run's)");
  b.add("runtime.threads", &e.threads, "intra-op threads per rank (0: cores per node / ranks per node)");
}

TrainConfig stored_config(const runtime::CheckpointContent& c, const std::string& where, const EvalOptions& e) {
  return stored_train_config(c, where, e.data_dir, e.data_path);
}

// The run's data, with the checkpoint's normalisation when it stores one. A data file that
// cannot be read is bad input (ConfigError).
data::DataSplits eval_data(const TrainConfig& cfg, const runtime::CheckpointContent& c, const std::string& where,
                           std::string* norm_source) {
  data::DataSplits data;
  try {
    data = data::load_data(cfg.data);
  } catch (const data::DataError& e) {
    throw ConfigError(concat("--", cfg.data.name == "hdf5" ? "data.path" : "data.dir", ": ", e.what()));
  }
  if (auto stored = stored_normalization(c, where)) {
    SPROUT_CHECK(static_cast<int64_t>(stored->mean.size()) == data.channels, ConfigError, where, ": its input ",
                 "normalisation has ", stored->mean.size(), " channels, the test data ", data.channels);
    data.norm = *stored;
    *norm_source = "checkpoint";
  }
  return data;
}

std::string ratio_list(const std::vector<double>& ratios) {
  std::ostringstream os;
  for (size_t i = 0; i < ratios.size(); ++i) os << (i ? ", " : "") << ratios[i];
  return os.str();
}

// The truncation curve of an adaptive-width model: one line per truncation and the JSON summary.
int print_truncations(runtime::RuntimeContext& ctx, const EvalData& ed, growth::Model& model, const TrainConfig& cfg,
                      const std::vector<Truncation>& truncations, const std::string& path,
                      const runtime::CheckpointContent& content, const std::string& where) {
  const double full = static_cast<double>(growth::macs_per_example(model.arch()));
  std::vector<runtime::JsonObject> list;
  for (const auto& t : truncations) {
    const auto r = evaluate_adaptive(*ctx.comm, ed, model, t.active, cfg.adaptive.spec.rate_floor, t.label);
    runtime::JsonObject widths;
    std::string text;
    for (const auto& [site, n] : t.active) {
      widths.add(site, n);
      text += concat(text.empty() ? "" : ",", site, "=", n);
    }
    runtime::JsonObject j = r.json();
    j.add("truncate", t.label).add("active", widths);
    list.push_back(j);
    if (ctx.is_root()) std::printf("truncate %-6s %-24s %s\n", t.label.c_str(), text.c_str(), r.line(full).c_str());
  }
  if (ctx.is_root()) {
    runtime::JsonObject j;
    j.add("checkpoint", path).add("step", runtime::attr_int(content.root, "step", where))
        .add("model", model.arch().describe()).add("world_size", ctx.size()).add("truncations", list);
    std::printf("%s\n", j.str().c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int run_eval(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  EvalOptions e;
  OptionBinder binder;
  bind_eval_options(binder, e);
  const auto& table = binder.table();
  bool help = false;
  std::string path;
  agree(*ctx.comm, [&] {
    const Options options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    expect_arguments(options, "eval", {});
    binder.load(options);
    path = e.checkpoint;
    SPROUT_CHECK(!path.empty(), ConfigError, "--checkpoint: a checkpoint file is required");
    path = resolve_checkpoint_path(path, "--checkpoint");
    for (double c : e.gate_confidence) {
      SPROUT_CHECK(c > 0 && c <= 1, ConfigError, "--gate_confidence: ", c, " must be in (0, 1]");
    }
    SPROUT_CHECK(e.gate_confidence.empty() || e.width == "dynamic" || e.width == "all", ConfigError,
                 "--gate_confidence: needs --width dynamic or all (not '", e.width, "')");
    SPROUT_CHECK(e.eval_batch > 0, ConfigError, "--eval_batch: ", e.eval_batch, " must be > 0");
    SPROUT_CHECK(e.threads >= 0 && e.threads <= 1024, ConfigError, "--runtime.threads: ", e.threads,
                 " must be in [0, 1024]");
    runtime::configure_threads(e.threads > 0 ? e.threads : runtime::default_threads(ctx.local_size));
  });
  const std::string& width = e.width;
  const int64_t batch = e.eval_batch;
  const std::vector<double>& confidences = e.gate_confidence;
  if (help) {
    if (ctx.is_root()) std::printf("%s", format_help(table, "usage: sprout eval --checkpoint FILE|DIR [--width all|R|dynamic|oracle] [--gate_confidence C,…] [--truncate all|N|F]").c_str());
    return 0;
  }

  const auto content = runtime::read_checkpoint_file(*ctx.comm, path);  // collective; errors agreed
  const std::string where = concat("checkpoint '", path, "'");
  TrainConfig cfg;
  data::DataSplits data;
  std::unique_ptr<growth::Model> model;
  std::unique_ptr<growth::SlimmableNet> net;
  std::vector<size_t> ratios;  // indices to evaluate (all: every one, then dynamic/oracle)
  std::vector<Truncation> truncations;  // adaptive width
  const std::string truncate = e.truncate;
  std::string norm_source = "data";  // where the input normalisation comes from
  agree(*ctx.comm, [&] {
    cfg = stored_config(content, where, e);
    data = eval_data(cfg, content, where, &norm_source);
    const auto* arch = content.find_group("/architecture");
    SPROUT_CHECK(arch, CheckpointError, where, ": missing group /architecture");
    model = growth::build_model(growth::ArchSpec::parse_stored(runtime::attr_string(*arch, "spec", where)), cfg.train.seed);
    if (cfg.adaptive.enabled) {  // launch/adaptive/eval.h
      growth::make_adaptive(*model, cfg.adaptive.spec);
      install_model_tensors(model->params(), content, where, model->arch().describe());
      truncations = parse_truncation(truncate.empty() ? "1.0" : truncate, *model);
      return;
    }
    SPROUT_CHECK(truncate.empty(), ConfigError, "--truncate: '", truncate, "' needs an adaptive-width checkpoint (",
                 where, " has model.adaptive = false)");
    if (!cfg.slim.enabled) {  // a plain run: the model as trained
      SPROUT_CHECK(width == "all" && confidences.empty(), ConfigError, "--width/--gate_confidence: need a slimmable ",
                   "checkpoint (", where, " is a plain run: evaluate it without them)");
      install_model_tensors(model->params(), content, where, model->arch().describe());
      return;
    }
    net = std::make_unique<growth::SlimmableNet>(*model, cfg.slim.spec, cfg.train.seed);
    install_model_tensors(model->params(), content, where, model->arch().describe());
    if (width == "all" || width == "dynamic" || width == "oracle") {
      SPROUT_CHECK(width == "all" || model->params().buffer("gate.trained_steps").item<int64_t>() > 0, ConfigError,
                   "--width ", width, ": the gate of ", where, " was never trained (the run had slim.gate_steps = 0 ",
                   "or stopped before its gate stage)");
      SPROUT_CHECK(confidences.empty() || model->params().buffer("gate.trained_steps").item<int64_t>() > 0,
                   ConfigError, "--gate_confidence: the gate of ", where, " was never trained");
      return;
    }
    const auto r = to_number(width);
    bool found = false;
    for (size_t i = 0; i < net->num_ratios() && r; ++i) {
      if (std::fabs(net->ratio(i) - *r) < 1e-9) ratios.push_back(i), found = true;
    }
    SPROUT_CHECK(found, ConfigError, "--width: '", width, "' is not all, dynamic, oracle nor one of the run's ratios (",
                 ratio_list(cfg.slim.spec.ratios), ")");
  });

  // A file, and a checkpoint that stores none: the ranks compute it together.
  if (!data.norm.known()) data.norm = compute_normalization(*ctx.comm, data.full_train);
  ctx.comm->set_phase("eval");
  EvalData ed{&data.test, data.norm, batch, torch::kCPU};
  if (cfg.adaptive.enabled) return print_truncations(ctx, ed, *model, cfg, truncations, path, content, where);
  std::vector<WidthEvaluation> rows;
  if (!net) rows.push_back(evaluate_active(*ctx.comm, ed, *model, {}, "full"));  // a plain run
  else if (width == "all") rows = evaluate_widths(*ctx.comm, ed, *net);
  else if (width == "dynamic") rows.push_back(evaluate_dynamic(*ctx.comm, ed, *net));
  else if (width == "oracle") rows.push_back(evaluate_oracle(*ctx.comm, ed, *net));
  else rows.push_back(evaluate_ratio(*ctx.comm, ed, *net, ratios.front()));
  for (double c : confidences) rows.push_back(evaluate_dynamic(*ctx.comm, ed, *net, c));

  if (ctx.is_root()) {
    const double full = static_cast<double>(net ? net->macs(net->largest()) : growth::macs_per_example(model->arch()));
    std::vector<runtime::JsonObject> list;
    for (const auto& r : rows) {
      std::printf("eval %s\n", r.line(full).c_str());
      list.push_back(r.json());
    }
    runtime::JsonObject j;
    j.add("checkpoint", path).add("step", runtime::attr_int(content.root, "step", where))
        .add("model", model->arch().describe()).add("world_size", ctx.size()).add("widths", list);
    if (!net) j.add("test_accuracy", rows.front().accuracy).add("test_loss", rows.front().loss);
    runtime::JsonObject norm;
    norm.add("mean", data.norm.mean).add("std", data.norm.stddev).add("source", norm_source);
    j.add("normalization", norm);
    std::printf("%s\n", j.str().c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
