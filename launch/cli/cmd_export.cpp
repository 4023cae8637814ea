// `sprout export [--format safetensors|pt] CHECKPOINT OUT`: a checkpoint's model as a file
// PyTorch loads — its state dict with PyTorch's names and shapes, and as metadata the
// architecture and the input normalisation (Note [PyTorch layout] in
// launch/interop/torch_layout.h; the files: launch/interop/export.h). CHECKPOINT is a file or
// a checkpoint directory (the checkpoint `latest` names). The input normalisation is the
// checkpoint's, or sprout's of the run's training data (which is then read). Runs on any
// number of ranks (the read is collective); rank 0 writes OUT and prints one line. A run
// whose forward the plain module does not compute (adaptive width, a slimmable gate's
// attention) is refused with one line, status 2.
#include <sys/stat.h>

#include <cstdio>

#include "data/dataset.h"
#include "data/normalization.h"
#include "launch/cli/checkpoint_path.h"
#include "launch/cli/commands.h"
#include "launch/cli/option_binder.h"
#include "launch/cli/rank_agreement.h"
#include "launch/interop/export.h"
#include "launch/interop/stored_run.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/error.h"
#include "runtime/file_identity.h"

namespace sprout::launch {

namespace {

struct ExportOptions {
  std::string format = "safetensors";
  std::string data_dir;
  int64_t check = 0;
};

void bind_export_options(OptionBinder& b, ExportOptions& e) {
  b.add("format", &e.format, "safetensors | pt (torch.load gives {\"state_dict\": ..., \"metadata\": ...})");
  b.add("data.dir", &e.data_dir,
        "directory of the run's training data, read for the input normalisation when the checkpoint does not "
        "record it, and for --check (default: the run's)");
  b.add("check", &e.check,
        "also write OUT.check.safetensors: this many test examples (images, labels) and sprout's logits for them, "
        "to verify a port (sprout_torch.verify); 0: none");
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace

int run_export(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  ExportOptions e;
  OptionBinder binder;
  bind_export_options(binder, e);
  const auto& table = binder.table();
  bool help = false;
  std::string checkpoint, out;
  ExportFormat format = ExportFormat::Safetensors;
  agree(*ctx.comm, [&] {
    const Options options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    binder.load(options);
    const auto positional = expect_arguments(options, "export", {"CHECKPOINT", "OUT"});
    checkpoint = positional[0];
    out = positional[1];
    format = parse_export_format(e.format);
    SPROUT_CHECK(e.check >= 0 && e.check <= 1000000, ConfigError, "--check: ", e.check, " must be in [0, 1000000]");
    checkpoint = resolve_checkpoint_path(checkpoint, "export");  // a directory: its `latest`
    struct stat st;
    SPROUT_CHECK(::stat(checkpoint.c_str(), &st) == 0 && S_ISREG(st.st_mode), ConfigError, "export: checkpoint '",
                 checkpoint, "' is not a file");
    SPROUT_CHECK(!is_dir(out), ConfigError, "export: OUT '", out, "' is a directory; give a file name");
    for (const auto& written : {out, out + ".check.safetensors"}) {
      SPROUT_CHECK(!runtime::same_file(written, checkpoint), ConfigError, "export: OUT '", written,
                   "' is the checkpoint itself");
    }
    SPROUT_CHECK(is_dir(parent_dir(out)), ConfigError, "export: OUT '", out, "': directory '", parent_dir(out),
                 "' does not exist");
  });
  if (help) {
    if (ctx.is_root()) {
      std::printf("%s", format_help(table, "usage: sprout export [--format safetensors|pt] CHECKPOINT OUT").c_str());
    }
    return 0;
  }

  const auto content = runtime::read_checkpoint_file(*ctx.comm, checkpoint);  // collective; errors agreed
  agree(*ctx.comm, [&] {
    if (!ctx.is_root()) return;
    const std::string where = concat("checkpoint '", checkpoint, "'");
    require_plain_forward(content, checkpoint);
    const auto model = stored_model(content, checkpoint);
    auto input = recorded_normalisation(content, where);
    data::DataSplits data;
    if (!input || e.check > 0) {  // the run's data: its normalisation, its test examples
      data = data::load_data(stored_train_config(content, where, e.data_dir).data);
      if (!input) {  // this rank alone: the same bits as the ranks together (data/normalization.h)
        const auto norm = data.norm.known() ? data.norm : data::compute_normalization(data.full_train);
        input = InputNormalisation{norm.mean, norm.stddev};
      }
    }
    const auto exported = exported_model(*model, content, checkpoint, *input);
    write_export(out, exported, format);
    if (e.check > 0) {
      write_safetensors(out + ".check.safetensors",
                        check_examples(*model, data.test.range(0, std::min(e.check, data.test.size())),
                                       data.test.labels, *input, e.check),
                        {{"architecture", exported.metadata.at("architecture")}, {"source", checkpoint}});
    }
    int64_t bytes = 0;
    for (const auto& [name, t] : exported.state) bytes += t.numel() * t.element_size();
    std::printf("export: %s -> %s (%s, %zu tensors, %.2f MB): %s, input mean %s std %s\n", checkpoint.c_str(),
                out.c_str(), e.format.c_str(), exported.state.size(), bytes / 1e6, exported.arch.describe().c_str(),
                exported.metadata.at("input_mean").c_str(), exported.metadata.at("input_std").c_str());
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace sprout::launch
