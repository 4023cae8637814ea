// `sprout import [--format safetensors] STATE_DICT OUT`: a PyTorch state dict (Note [PyTorch
// layout] in launch/interop/torch_layout.h) as a sprout checkpoint (launch/interop/import.h)
// that --init.from, --resume, merge and inspect take. The architecture is the file's
// metadata "architecture" (a `sprout export` or sprout_torch.save_safetensors file), or
// --model.kind with its model.* options, --input and --classes when the file has none or
// any model.* option is given. Every tensor is checked against the architecture: a
// missing or extra name, a wrong shape or dtype ends the run with one line naming the
// tensor, exit status 2. Collective: every rank reads the file, then OUT is written by all.
#include <sys/stat.h>

#include <cstdio>

#include "growth/models/family.h"
#include "launch/cli/commands.h"
#include "launch/cli/option_binder.h"
#include "launch/cli/rank_agreement.h"
#include "launch/interop/import.h"
#include "launch/interop/safetensors.h"
#include "launch/interop/torch_layout.h"
#include "launch/train/train_config.h"
#include "merge/checkpoint_files.h"
#include "runtime/error.h"
#include "runtime/file_identity.h"

namespace sprout::launch {

namespace {

struct ImportOptions {
  std::string format = "safetensors";
  growth::ArchSpec model;
  std::string input = "1x28x28";
  int64_t classes = 10;
  std::vector<double> input_mean, input_std;
};

void bind_import_options(OptionBinder& b, ImportOptions& o) {
  b.add("format", &o.format, "safetensors (the only format read)");
  bind_model_options(b, o.model);
  b.add("input", &o.input, "CxHxW of the model's input, with --model.* (the file's metadata otherwise)");
  b.add("classes", &o.classes, "classes of the model's output, with --model.*");
  b.add("input_mean", &o.input_mean,
        "input normalisation to record (one value, or one per channel; default: the file's metadata, else none)");
  b.add("input_std", &o.input_std, "input normalisation to record, with --input_mean");
}

// "1x28x28" -> the ArchSpec's input fields; ConfigError naming --input.
void set_input(growth::ArchSpec& arch, const std::string& text) {
  long long c = 0, h = 0, w = 0;
  char tail = 0;
  SPROUT_CHECK(std::sscanf(text.c_str(), "%lldx%lldx%lld%c", &c, &h, &w, &tail) == 3 && c > 0 && h > 0 && w > 0 &&
                   c <= 4096 && h <= 65536 && w <= 65536,
               ConfigError, "--input: '", text, "' is not CxHxW with positive sizes (e.g. 1x28x28)");
  arch.in_channels = c;
  arch.in_height = h;
  arch.in_width = w;
}

bool given_model_option(const Options& options) {
  if (options.has("model.kind") || options.has("input") || options.has("classes")) return true;
  for (const auto& s : growth::all_model_settings()) {
    if (options.has("model." + s.key)) return true;
  }
  return false;
}

}  // namespace

int run_import(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  ImportOptions io;
  OptionBinder binder;
  bind_import_options(binder, io);
  const auto& table = binder.table();
  bool help = false;
  std::string source, out;
  growth::ArchSpec arch;
  runtime::CheckpointContent content;
  agree(*ctx.comm, [&] {
    const Options options = Options::parse(table, args);
    help = options.help();
    if (help) return;
    binder.load(options);
    const auto positional = expect_arguments(options, "import", {"STATE_DICT", "OUT"});
    source = positional[0];
    out = positional[1];
    SPROUT_CHECK(io.format == "safetensors", ConfigError, "--format: '", io.format,
                 "' cannot be imported (safetensors only; save a PyTorch state dict with "
                 "sprout_torch.save_safetensors)");
    SPROUT_CHECK(!runtime::same_file(source, out), ConfigError, "import: OUT '", out, "' is the input file");
    SPROUT_CHECK(io.input_mean.size() == io.input_std.size(), ConfigError, "--input_std: ", io.input_std.size(),
                 " value(s) for ", io.input_mean.size(), " --input_mean value(s)");
    for (double s : io.input_std) SPROUT_CHECK(s > 0, ConfigError, "--input_std: ", s, " must be > 0");

    const SafetensorsFile file = read_safetensors(source);
    const std::string where = concat("import '", source, "'");
    if (given_model_option(options)) {
      arch = io.model;
      set_input(arch, io.input);
      SPROUT_CHECK(io.classes >= 1, ConfigError, "--classes: ", io.classes, " must be >= 1");
      arch.classes = io.classes;
      arch = growth::complete(arch);  // ConfigError naming model.<key>
    } else {
      const auto it = file.metadata.find("architecture");
      SPROUT_CHECK(it != file.metadata.end(), ConfigError, where,
                   ": no architecture in its metadata; give --model.kind with its model.* options, --input and "
                   "--classes");
      try {
        arch = growth::ArchSpec::parse(it->second);
      } catch (const ConfigError& e) {
        throw ConfigError(concat(where, ": its metadata architecture '", it->second, "': ", e.what()));
      }
    }
    std::optional<InputNormalisation> input;
    if (!io.input_mean.empty()) {
      input = InputNormalisation{io.input_mean, io.input_std};
    } else if (file.metadata.count("input_mean") && file.metadata.count("input_std")) {
      input = InputNormalisation{parse_doubles(file.metadata.at("input_mean"), where + " metadata input_mean"),
                                 parse_doubles(file.metadata.at("input_std"), where + " metadata input_std")};
    }
    if (input) {
      const size_t n = input->mean.size();
      SPROUT_CHECK(n == input->stddev.size() && (n == 1 || static_cast<int64_t>(n) == arch.in_channels), ConfigError,
                   where, ": input normalisation of ", n, " mean(s) and ", input->stddev.size(),
                   " std(s) for ", arch.in_channels, " input channel(s)");
    }
    content = imported_checkpoint(arch, sprout_params(arch, file.tensors, where), input, source);
  });
  if (help) {
    if (ctx.is_root()) {
      std::printf("%s", format_help(table, "usage: sprout import [--format safetensors] STATE_DICT OUT "
                                           "[--model.kind K --model.<key> V ... --input CxHxW --classes N]")
                            .c_str());
    }
    return 0;
  }
  merge::write_checkpoint_atomically(*ctx.comm, out, content);  // collective
  if (ctx.is_root()) {
    std::printf("import: %s -> %s: %s, %zu tensors\n", source.c_str(), out.c_str(), arch.describe().c_str(),
                content.tensors.size());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sprout::launch
