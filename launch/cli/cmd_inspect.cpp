// `sprout inspect FILE|DIR`: what a checkpoint holds (a directory: the checkpoint its
// `latest` names, as `sprout eval --checkpoint DIR` reads), whether every tensor in it
// matches its checksum, and whether it is a usable model — the same validation
// --init.from and `sprout eval` apply (validate_model_content, launch/checkpoint/run_state.h)
// — and whether a run can resume from it (a merged or imported model need not be
// resumable). Exit status 0 for a usable model, 1 otherwise (or if the file cannot be read
// as a sprout checkpoint), 2 for bad usage. Runs on any number of ranks (the read is
// collective); rank 0 prints.
#include <cstdio>
#include <sstream>

#include "launch/cli/checkpoint_path.h"
#include "launch/cli/commands.h"
#include "launch/checkpoint/run_state.h"
#include "launch/cli/rank_agreement.h"
#include "launch/cli/options.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {

namespace {

const char* dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt16: return "int16";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    default: return "?";
  }
}

std::string get(const runtime::Attributes* attrs, const std::string& key) {
  if (!attrs) return "(missing)";
  auto it = attrs->find(key);
  return it == attrs->end() ? "(missing)" : runtime::attr_text(it->second);
}

// The growth history table as aligned text rows.
std::string history_text(const runtime::CheckpointTable& t) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "  %-8s %-10s %-10s %-16s %9s %10s\n", "step", "site", "strategy", "width",
                "seconds", "grad_norm");
  os << line;
  auto col = [&](const std::string& name) -> const runtime::CheckpointTable::Column* {
    for (const auto& c : t.columns) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  auto cell = [&](const std::string& name, int64_t r) -> std::string {
    const auto* c = col(name);
    if (!c) return "?";
    if (const auto* i = std::get_if<std::vector<int64_t>>(&c->values)) return std::to_string((*i)[r]);
    if (const auto* d = std::get_if<std::vector<double>>(&c->values)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", (*d)[r]);
      return buf;
    }
    return std::get<std::vector<std::string>>(c->values)[r];
  };
  for (int64_t r = 0; r < t.rows(); ++r) {
    const std::string width = cell("old_width", r) + " -> " + cell("new_width", r);
    std::snprintf(line, sizeof line, "  %-8s %-10s %-10s %-16s %9s %10s\n", cell("step", r).c_str(),
                  cell("site", r).c_str(), cell("strategy", r).c_str(), width.c_str(), cell("seconds", r).c_str(),
                  cell("grad_norm", r).c_str());
    os << line;
  }
  return os.str();
}

// The report; returns the number of failed checks.
int report(const std::string& path, const runtime::CheckpointContent& c, std::FILE* out) {
  int failed = 0;
  auto missing = [&](const std::string& what) {
    std::fprintf(out, "  MISSING %s\n", what.c_str());
    ++failed;
  };
  std::fprintf(out, "checkpoint    %s\n", path.c_str());
  std::fprintf(out, "format        %s v%s, sprout %s, written by %s rank(s)\n", get(&c.root, "format").c_str(),
               get(&c.root, "format_version").c_str(), get(&c.root, "sprout_version").c_str(),
               get(&c.root, "world_size").c_str());
  const std::string tag = get(&c.root, "tag");
  std::fprintf(out, "step          %s of %s (epoch %s%s)\n", get(&c.root, "step").c_str(),
               get(&c.root, "total_steps").c_str(), get(&c.root, "epoch").c_str(),
               tag.empty() || tag == "(missing)" ? "" : (", " + tag).c_str());
  const auto* arch = c.find_group("/architecture");
  std::fprintf(out, "architecture  %s   [%s]\n", get(arch, "description").c_str(), get(arch, "spec").c_str());
  if (const auto* widths = c.find_group("/architecture/widths")) {
    std::string w;
    for (const auto& [site, v] : *widths) w += (w.empty() ? "" : "  ") + site + "=" + runtime::attr_text(v);
    std::fprintf(out, "widths        %s\n", w.c_str());
  }
  const auto* opt = c.find_group("/optimizer");
  std::fprintf(out, "optimizer     %s (lr %s, momentum %s, weight_decay %s)\n", get(opt, "name").c_str(),
               get(opt, "lr").c_str(), get(opt, "momentum").c_str(), get(opt, "weight_decay").c_str());
  const auto* data = c.find_group("/data");
  std::fprintf(out, "data          seed %s, epoch %s, offset %s of %s examples\n", get(data, "seed").c_str(),
               get(data, "epoch").c_str(), get(data, "offset").c_str(), get(data, "train_examples").c_str());
  auto history = c.tables.find("/growth/history");
  if (history != c.tables.end()) {
    std::fprintf(out, "growth        %lld event(s)\n", static_cast<long long>(history->second.rows()));
    if (history->second.rows() > 0) std::fprintf(out, "%s", history_text(history->second).c_str());
  }
  if (!c.find_group("/architecture")) missing("/architecture");

  int64_t bytes = 0, bad = 0;
  for (const auto& [name, t] : c.tensors) bytes += t.value.numel() * t.value.element_size();
  std::fprintf(out, "tensors       %zu, %.2f MB\n", c.tensors.size(), bytes / 1e6);
  for (const auto& [name, t] : c.tensors) {
    char crc[16];
    std::snprintf(crc, sizeof crc, "0x%08x", t.crc32);
    std::fprintf(out, "  %-44s %-8s %-14s crc32 %s  %s\n", name.c_str(), dtype_name(t.value.scalar_type()),
                 runtime::shape_string(t.value.sizes()).c_str(), crc, t.error.empty() ? "ok" : "BAD");
    if (!t.error.empty()) {
      std::fprintf(out, "      %s\n", t.error.c_str());
      ++bad;
    }
  }
  failed += static_cast<int>(bad);
  const std::string where = concat("checkpoint '", path, "'");
  if (failed == 0) {
    try {  // what --init.from and `sprout eval` require (launch/checkpoint/run_state.h)
      validate_model_content(c, where);
    } catch (const CheckpointError& e) {
      std::fprintf(out, "  INVALID %s\n", e.what());
      ++failed;
    }
  }
  // Resuming needs more than a model: optimizer state, the data position, the growth history.
  std::string resume;
  for (const char* group : {"/optimizer", "/data"}) {
    if (!c.find_group(group)) resume += concat(resume.empty() ? "" : ", ", "missing ", group);
  }
  if (history == c.tables.end()) resume += concat(resume.empty() ? "" : ", ", "missing /growth/history");
  if (failed == 0 && resume.empty()) {
    try {
      validate_checkpoint_content(c, where);
    } catch (const CheckpointError& e) {
      resume = e.what();
    }
  }
  if (failed == 0) std::fprintf(out, "resume        %s\n", resume.empty() ? "yes" : ("no: " + resume).c_str());
  if (failed == 0) std::fprintf(out, "verdict       ok: a usable model, every tensor matches its checksum\n");
  else std::fprintf(out, "verdict       FAILED: %lld of %zu tensors bad, %lld part(s) missing\n",
                    static_cast<long long>(bad), c.tensors.size(), static_cast<long long>(failed - bad));
  return failed;
}

}  // namespace

int run_inspect(runtime::RuntimeContext& ctx, const std::vector<std::string>& args) {
  const OptionTable table;
  Options options;
  try {
    options = Options::parse(table, args);
  } catch (const ConfigError& e) {
    if (ctx.is_root()) std::fprintf(stderr, "sprout: rank 0: %s\n", e.what());
    return 2;
  }
  if (options.help() || options.positional().size() != 1) {
    if (ctx.is_root()) {
      std::fprintf(options.help() ? stdout : stderr,
                   "usage: sprout inspect FILE|DIR\n\nPrints a checkpoint's step, world size, architecture, growth history "
                   "and every tensor (name, dtype, shape, checksum status),\nwhether it is a usable model (as --init.from "
                   "and `sprout eval` need) and whether a run can resume from it.\nDIR: the checkpoint its `latest` file "
                   "names. Exit status 1 if any check fails.\n");
    }
    return options.help() ? 0 : 2;
  }
  std::string path;
  try {
    path = resolve_checkpoint_path(options.positional().front(), "inspect");  // every rank alike
  } catch (const ConfigError& e) {
    if (ctx.is_root()) std::fprintf(stderr, "sprout: rank 0: %s\n", e.what());
    return 2;
  }
  end_startup(*ctx.comm);  // no option agreement here: the read below is bounded as usual
  runtime::ReadOptions read;
  read.stop_at_first_error = false;
  runtime::CheckpointContent content;
  try {
    content = runtime::read_checkpoint_file(*ctx.comm, path, read);
  } catch (const CheckpointError& e) {
    // Agreed by every rank (runtime/checkpoint/checkpoint.h): rank 0 speaks for all.
    if (ctx.is_root()) std::fprintf(stderr, "sprout: rank 0: %s\n", e.what());
    return 1;
  }
  int failed = 0;
  if (ctx.is_root()) {
    failed = report(path, content, stdout);
    std::fflush(stdout);
  }
  return runtime::allreduce_int(*ctx.comm, failed, runtime::ReduceOp::Max) > 0 ? 1 : 0;
}

}  // namespace sprout::launch
