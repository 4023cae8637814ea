#include "merge/offline_merge.h"

#include <sys/stat.h>

#include <climits>
#include <functional>
#include <memory>

#include "merge/checkpoint_files.h"
#include "merge/merge.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/error.h"
#include "runtime/file_identity.h"

namespace sprout::merge {

namespace {

// Runs `fn` (no collectives) on every rank; if it failed anywhere, every rank throws the
// error of the lowest failing rank, with its type (ConfigError, CheckpointError, Error).
void agreed(runtime::Communicator& comm, const std::function<void()>& fn) {
  int kind = 0;  // 0 ok, 1 Error, 2 ConfigError, 3 CheckpointError
  std::string message;
  try {
    fn();
  } catch (const ConfigError& e) {
    kind = 2;
    message = e.what();
  } catch (const CheckpointError& e) {
    kind = 3;
    message = e.what();
  } catch (const std::exception& e) {
    kind = 1;
    message = e.what();
  }
  const int64_t mine = kind ? static_cast<int64_t>(comm.rank()) * 8 + kind : INT64_MAX;
  const int64_t first = runtime::allreduce_int(comm, mine, runtime::ReduceOp::Min);
  if (first == INT64_MAX) return;
  message = runtime::broadcast_string(comm, message, static_cast<int>(first / 8));
  switch (first % 8) {
    case 2: throw ConfigError(message);
    case 3: throw CheckpointError(message);
    default: throw Error(message);
  }
}

// The --init.from an expert's run recorded in its configuration text ("" if none).
std::string init_from_of(const CheckpointStream& expert) {
  auto it = expert.root().find("config");
  const auto* text = it == expert.root().end() ? nullptr : std::get_if<std::string>(&it->second);
  if (!text) return "";
  const std::string key = "init.from = ";
  for (size_t pos = 0; (pos = text->find(key, pos)) != std::string::npos; pos += key.size()) {
    if (pos == 0 || (*text)[pos - 1] == '\n') return text->substr(pos + key.size(), text->find('\n', pos) - pos - key.size());
  }
  return "";
}

// An expert fine-tuned with --init.from another base is refused: its task vector against
// this base would hold the difference of the two bases. (Experts that do not record their
// start, or whose start file is gone, cannot be checked and are accepted.)
void require_same_base(const CheckpointStream& base, const CheckpointStream& expert) {
  const std::string from = init_from_of(expert);
  if (from.empty() || from == base.path()) return;
  struct stat st;
  if (::stat(from.c_str(), &st) != 0) return;
  const CheckpointStream start(from);
  SPROUT_CHECK(start.content_checksum() == base.content_checksum(), ConfigError, "expert '", expert.path(),
               "' was fine-tuned from '", from, "' (--init.from), whose weights differ from the base '", base.path(),
               "'");
}

// --out (and its temporary <out>.tmp) must not be an input, however either is spelt:
// compared by identity (runtime/file_identity.h), not by path text.
void refuse_overwriting_inputs(const OfflineMergeOptions& o) {
  const auto out = runtime::file_identity(o.out), tmp = runtime::file_identity(o.out + ".tmp");
  std::vector<std::pair<std::string, std::string>> inputs{{"--base", o.base}};
  for (const auto& e : o.experts) inputs.emplace_back("--experts", e);
  for (const auto& [option, path] : inputs) {
    const auto in = runtime::file_identity(path);
    SPROUT_CHECK(in != out && in != tmp, ConfigError, "--out: '", o.out, "' is the same file as ", option, " '", path,
                 "' (the merge would overwrite its input)");
  }
}

}  // namespace

OfflineMergeResult merge_checkpoint_files(runtime::Communicator& comm, const OfflineMergeOptions& o) {
  std::unique_ptr<MergeMethod> method;
  std::unique_ptr<CheckpointStream> base;
  std::vector<CheckpointStream> experts;
  OfflineMergeResult result;
  agreed(comm, [&] {
    method = make_merge_method(o.method);
    validate(o.merge);
    SPROUT_CHECK(!o.experts.empty(), ConfigError, "--experts: no expert checkpoint given");
    SPROUT_CHECK(!o.out.empty(), ConfigError, "--out: no output file given");
    result.lambda = resolve_lambda(*method, o.merge, static_cast<int64_t>(o.experts.size()));
    refuse_overwriting_inputs(o);
    base = std::make_unique<CheckpointStream>(o.base);
    for (const auto& path : o.experts) {
      experts.emplace_back(path);
      require_same_model(*base, experts.back());
      require_same_base(*base, experts.back());
    }
  });
  const auto base_content = runtime::read_checkpoint_file(comm, o.base);
  const TensorBundle base_bundle = bundle_from_checkpoint(base_content, concat("checkpoint '", o.base, "'"));

  TensorBundle merged = base_bundle;
  const auto& list = base->tensors();
  result.tensors = static_cast<int64_t>(list.size());
  agreed(comm, [&] {
    SPROUT_CHECK(list.size() == base_bundle.size(), CheckpointError, "checkpoint '", o.base,
                 "' changed while it was read");
    for (size_t i = comm.rank(); i < list.size(); i += comm.size()) {
      std::vector<torch::Tensor> values;
      for (const auto& e : experts) values.push_back(e.read(e.tensors()[i]));  // one tensor per expert
      merged[i].value = merge_tensor(*method, list[i].role, list[i].name, base_bundle[i].value, values,
                                     result.lambda, o.merge);
      ++result.tensors_here;
    }
  });
  for (size_t i = 0; i < list.size(); ++i) {
    auto& t = merged[i].value;
    t = t.contiguous();
    comm.broadcast(t, static_cast<int>(i % comm.size()));
  }

  // Replicated now: every rank refuses alike, before anything is written.
  for (const auto& t : merged) {
    SPROUT_CHECK(!t.value.is_floating_point() || torch::isfinite(t.value).all().item<bool>(), ConfigError,
                 "--out: the merged tensor ", t.name, " holds Inf or NaN (method ", method->name(), ", lambda ",
                 result.lambda, "); '", o.out, "' is not written");
  }
  runtime::Attributes attrs = {{"method", method->name()},
                               {"lambda", result.lambda},
                               {"ties_density", o.merge.density},
                               {"base", o.base},
                               {"base_checksum", base->content_checksum()},
                               {"experts", static_cast<int64_t>(o.experts.size())}};
  for (size_t e = 0; e < experts.size(); ++e) {
    attrs[concat("expert_", e)] = o.experts[e];
    attrs[concat("expert_", e, "_checksum")] = experts[e].content_checksum();
  }
  write_checkpoint_atomically(comm, o.out, merged_checkpoint(base_content, merged, attrs));
  return result;
}

}  // namespace sprout::merge
