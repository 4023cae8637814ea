// A sprout checkpoint as files PyTorch loads (Note [PyTorch layout] in torch_layout.h):
//
//   safetensors  the state dict, and as "__metadata__" the strings of ExportMetadata
//   pt           torch.load(path) -> {"state_dict": {name: tensor}, "metadata": {key: str}}
//                (LibTorch's pickle_save: the zip format of torch.save, read by torch.load
//                without weights_only restrictions on plain dicts, tensors and strings)
//
// Metadata keys (all strings):
//   format          "sprout-export"          format_version  "1"
//   architecture    the ArchSpec text ("kind=mlp;in=1x28x28;classes=10;...")
//   description     its one-line description
//   input_mean, input_std   the input normalisation: one value, or one per channel,
//                   comma-separated; a model's input is (uint8 pixel / 255 - mean) / std
//   step, source    the checkpoint's step and file
//   sprout_version
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "growth/models/arch.h"
#include "growth/models/model.h"
#include "launch/interop/safetensors.h"
#include "runtime/checkpoint/checkpoint.h"

namespace sprout::launch {

// The input normalisation a model was trained with: one value for every channel, or one
// per channel.
struct InputNormalisation {
  std::vector<double> mean{0.0}, stddev{1.0};
};

struct ExportedModel {
  growth::ArchSpec arch;
  NamedTensors state;  // PyTorch names and shapes
  std::map<std::string, std::string> metadata;
};

// The model of a checkpoint's content (read from `source`, named in errors): the full-width
// model its /architecture describes, with the tensors /model and /buffers hold for it.
// Throws CheckpointError naming `source` and the tensor when one is missing or mis-shaped.
std::unique_ptr<growth::Model> stored_model(const runtime::CheckpointContent& content, const std::string& source);

// Throws ConfigError naming `source` when the run's forward pass is not the plain model's,
// so that no PyTorch module of the family computes it: an adaptive-width run (every unit
// scaled by its learned importance) or a slimmable run with the gate's attention
// (slim.attention, on by default), read from the stored configuration. A slimmable run
// without attention exports its full-width model with its own statistics.
void require_plain_forward(const runtime::CheckpointContent& content, const std::string& source);

// `model` (stored_model of `content`) as an export, with its metadata.
ExportedModel exported_model(const growth::Model& model, const runtime::CheckpointContent& content,
                             const std::string& source, const InputNormalisation& input);

// uint8 images (N, C, H, W) -> the model's float32 input, as sprout computes it
// (data::to_input, per channel when `input` has one value per channel).
torch::Tensor normalised_input(const torch::Tensor& images, const InputNormalisation& input);

// A check of an export: the first `n` examples of `test` — "images" (uint8 N, C, H, W),
// "labels" (int64 N) — and "logits" (float32 N, classes), what sprout's model computes for
// them in evaluation mode, so a port of the model can be compared with sprout itself.
NamedTensors check_examples(growth::Model& model, const torch::Tensor& images, const torch::Tensor& labels,
                            const InputNormalisation& input, int64_t n);

enum class ExportFormat { Safetensors, Pt };
// "safetensors" | "pt"; ConfigError naming --format otherwise.
ExportFormat parse_export_format(const std::string& text);

// Writes the file (through path.tmp, renamed when complete). Local.
void write_export(const std::string& path, const ExportedModel& model, ExportFormat format);

// "0.1,0.2" <-> {0.1, 0.2} with every digit that round-trips a double.
std::string format_doubles(const std::vector<double>& values);
std::vector<double> parse_doubles(const std::string& text, const std::string& where);

}  // namespace sprout::launch
