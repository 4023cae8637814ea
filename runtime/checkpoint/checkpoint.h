// Checkpoint: one HDF5 file per checkpoint, written by every rank of a communicator (rank 0
// lays out the structure, each rank writes its rows with POSIX I/O: writer.h) and read
// collectively with parallel HDF5 (MPI-IO: reader.h). The runtime knows nothing of models: a
// checkpoint is a tree of groups (with attributes), tensors and small tables, and
// launch/checkpoint/checkpointer.cpp maps a training run onto it (layout: runtime/README.md
// "File layout"):
//
//   /                       attrs format="sprout-checkpoint", format_version, world_size,
//                           sprout_version, checksum, + the caller's (step, epoch, config)
//   /model/<module>/<param>            tensors, full shape ("fc1.weight" -> /model/fc1/weight)
//   /buffers/<module>/<buffer>
//   /optimizer/<module>/<param>/<slot> group attrs: step; lr_scale stored as a slot
//   /architecture, /growth/history, /data, /rng
//
// Every tensor dataset carries two attributes of its own:
//   crc32       CRC-32 (zlib) of the tensor's bytes in C order, little-endian. It is
//               computed over the whole tensor (each rank hashes its rows and the pieces
//               are combined), so it does not depend on how many ranks wrote it, and
//               `zlib.crc32(numpy_array.tobytes())` reproduces it.
//   shard_rows  int64 [world_size, 2]: (first row, row count) written by each rank — the
//               saved chunk records a future sharded reader can intersect with its own.
//
// Contract (writer and reader alike):
//  - Collective: every rank of the communicator calls with the same path and the same
//    content (names, shapes, dtypes and attributes identical; tensors are replicated, so
//    their values are too). Rank r transfers rows [n·r/W, n·(r+1)/W) of every tensor.
//  - Errors name the file and the tensor. Errors found while reading (checksum, missing
//    or malformed data) are agreed by all ranks before anyone throws, so every rank
//    throws the same CheckpointError and the file is closed collectively; a reader can
//    therefore fall back to another file. A failed write (a full disk, EIO) is agreed
//    too: every rank throws the lowest failing rank's message and the file is removed
//    (runtime/checkpoint/writer.h); a temporary file left by a killed writer is never
//    mistaken for a checkpoint (runtime/checkpoint/store.h).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace sprout::runtime {

inline constexpr const char* kCheckpointFormat = "sprout-checkpoint";
// 2: /architecture spec carries the model family's own parameters (batch_norm= for bn=);
// version 1 files are read (growth/models/arch.h parses both).
inline constexpr int64_t kCheckpointFormatVersion = 2;
inline constexpr const char* kSproutVersion = "0.1.0";

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>>;
using Attributes = std::map<std::string, AttrValue>;

struct CheckpointTensor {
  torch::Tensor value;  // any supported dtype (float32/64, int8/16/32/64, uint8), any shape
  Attributes attrs;     // the caller's; crc32 and shard_rows are added by the writer
  // Filled by the reader:
  uint32_t crc32 = 0;   // stored checksum
  std::string error;    // "" when the tensor verified; else what is wrong
};

// A small table stored as one compound dataset (one row per record), e.g. the growth
// history. Every column has the same number of rows.
struct CheckpointTable {
  struct Column {
    std::string name;
    std::variant<std::vector<int64_t>, std::vector<double>, std::vector<std::string>> values;
  };
  std::vector<Column> columns;
  int64_t rows() const;
};

struct CheckpointContent {
  Attributes root;                                // attributes of "/"
  std::map<std::string, Attributes> groups;       // "/data" -> attributes (created if absent)
  std::map<std::string, CheckpointTensor> tensors;  // "/model/fc1/weight" -> tensor
  std::map<std::string, CheckpointTable> tables;  // "/growth/history" -> table

  const CheckpointTensor* find_tensor(const std::string& path) const;
  const Attributes* find_group(const std::string& path) const;
};

// "fc1.weight" -> "fc1/weight" (every '.' starts a group) and back.
std::string name_to_path(const std::string& name);
std::string path_to_name(const std::string& path);

// Typed access to attributes; a missing or mistyped one throws CheckpointError naming
// `where` and the key.
int64_t attr_int(const Attributes& attrs, const std::string& key, const std::string& where);
double attr_double(const Attributes& attrs, const std::string& key, const std::string& where);
std::string attr_string(const Attributes& attrs, const std::string& key, const std::string& where);
std::vector<int64_t> attr_ints(const Attributes& attrs, const std::string& key, const std::string& where);
std::string attr_text(const AttrValue& value);  // any attribute as display text

// CRC-32 of a contiguous CPU tensor's bytes (zlib's polynomial).
uint32_t tensor_crc32(const torch::Tensor& t);

}  // namespace sprout::runtime
