// safetensors files (https://github.com/huggingface/safetensors, the format PyTorch users
// exchange weights in), written and read without the library:
//
//   8 bytes   N, the header's length, unsigned little-endian
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
//                    "__metadata__": {"<key>": "<string>", ...}}   (padded with spaces)
//   the rest  every tensor's bytes, C order, little-endian; [b, e) counts from the first
//             byte after the header
//
// Supported dtypes: F64, F32, I64, I32, I16, I8, U8 (sprout's tensor types). The reader is
// as strict as the reference one: every tensor's byte range lies inside the data, matches
// its dtype and shape exactly, and the ranges tile the data without gaps or overlaps.
// (Little-endian hosts only, like LibTorch's own serialisation on them.)
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sprout::launch {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsFile {
  NamedTensors tensors;                         // in the order of their data
  std::map<std::string, std::string> metadata;  // "__metadata__" (empty when absent)
};

// Writes `path` (first path.tmp, then renamed: a reader never sees half a file). Tensors
// are written in the given order. Throws ConfigError for an unsupported dtype or a name
// given twice, CheckpointError naming the file when it cannot be written. Local.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata);

// Reads a whole file. Anything malformed throws ConfigError with one line naming the file
// and, where there is one, the tensor ("... tensor fc1.weight: dtype BF16 is not supported").
// Local.
SafetensorsFile read_safetensors(const std::string& path);

// "F32" <-> torch::kFloat32 and so on; dtype_of throws ConfigError naming `where`.
std::string safetensors_dtype(torch::ScalarType type);
torch::ScalarType dtype_of(const std::string& safetensors_dtype, const std::string& where);

}  // namespace sprout::launch
