// Models as checkpoint files (runtime/checkpoint/checkpoint.h): a bundle from a checkpoint's content,
// the content of a merged model, an atomic single-file write, and a reader that streams a
// checkpoint one tensor at a time.
//
// Note [Merged checkpoints]
// A merged model is written as a normal checkpoint — `sprout inspect`, `--init.from` and
// `--resume` read it — built from the base's checkpoint: the base's architecture, growth
// history, configuration text and optimizer hyper-parameters; the merged /model and
// /buffers tensors; fresh optimizer state (every slot 0, every update counter 0; lr_scale
// kept); step 0, data position 0, tag "merged"; and a group /merge recording the method,
// λ, TIES density, and the inputs' file names and content checksums.
#pragma once

#include <string>
#include <vector>

#include "merge/tensor_bundle.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/comm/communicator.h"

namespace sprout::merge {

// The model of a checkpoint: /model/* as parameters, then /buffers/* (role by dtype), each
// in path order. Throws CheckpointError naming `where` for a checkpoint without /model or
// with a tensor that failed its checksum.
TensorBundle bundle_from_checkpoint(const runtime::CheckpointContent& content, const std::string& where);

// The architecture text a checkpoint stores (/architecture attribute spec).
std::string architecture_of(const runtime::CheckpointContent& content, const std::string& where);

// Note [Merged checkpoints]. `merged` holds the base's tensors, by name.
runtime::CheckpointContent merged_checkpoint(const runtime::CheckpointContent& base, const TensorBundle& merged,
                                             const runtime::Attributes& merge_attrs);

// Writes `content` to `path` collectively over `comm`: first `path`.tmp, then, once every
// rank has closed it, rank 0 renames it to `path` (atomic: a reader sees the old file or
// the new one). Creates missing parent directories. Throws CheckpointError on every rank
// on failure.
void write_checkpoint_atomically(runtime::Communicator& comm, const std::string& path,
                                 const runtime::CheckpointContent& content);

// One tensor of a streamed checkpoint.
struct StreamedTensor {
  std::string name;  // "fc1.weight"
  std::string path;  // "/model/fc1/weight"
  TensorRole role = TensorRole::Parameter;
  torch::ScalarType dtype = torch::kFloat32;
  std::vector<int64_t> shape;
  uint32_t crc32 = 0;
};

// A checkpoint opened by one process (serial HDF5, read-only), read one tensor at a time:
// opening reads metadata only; read() loads one tensor and verifies its checksum, so a
// merge holds one tensor per input at a time, not whole models. Local (no collectives);
// errors are CheckpointError naming the file and the tensor.
class CheckpointStream {
 public:
  explicit CheckpointStream(const std::string& path);
  ~CheckpointStream();
  CheckpointStream(CheckpointStream&&) noexcept;
  CheckpointStream(const CheckpointStream&) = delete;
  CheckpointStream& operator=(const CheckpointStream&) = delete;

  const std::string& path() const { return path_; }
  // /model/* then /buffers/*, each in path order (the order of bundle_from_checkpoint).
  const std::vector<StreamedTensor>& tensors() const { return tensors_; }
  const std::string& architecture() const { return architecture_; }
  const runtime::Attributes& root() const { return root_; }
  torch::Tensor read(const StreamedTensor& tensor) const;
  // A 64-bit digest of every tensor's name and stored crc32, as 16 hex digits: equal
  // models give equal digests whoever wrote them, on any number of ranks.
  std::string content_checksum() const;

 private:
  std::string path_;
  int64_t file_ = -1;  // hid_t
  std::vector<StreamedTensor> tensors_;
  std::string architecture_;
  runtime::Attributes root_;
};

// Throws ConfigError unless every expert holds the base's architecture and exactly its
// tensors (names, dtypes, shapes), naming the expert file and the first difference.
void require_same_model(const CheckpointStream& base, const CheckpointStream& expert);

}  // namespace sprout::merge
