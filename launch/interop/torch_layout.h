// Note [PyTorch layout]
// How a sprout model's tensors look as a PyTorch state dict, for every built-in family. The
// Python module launch/interop/python/sprout_torch builds the matching torch.nn.Module
// from the architecture text, so the names are sprout's own, unchanged: its modules are
// named as sprout's (fc1, bn_fc1, conv1, block1.conv1, block1.qkv, ...), each a standard
// torch.nn layer holding the same tensor (Linear, Conv2d, BatchNorm1d/2d, LayerNorm; the
// ViT's cls and pos are plain parameters; its q/k/v stay packed in one Linear qkv of
// 3·dim outputs, q first, heads contiguous within each). Two tensors change shape:
//   - vit embed.weight (D, C·p·p) -> (D, C, p, p): the patch embedding is a
//     Conv2d(C, D, kernel p, stride p), which is sprout's im2col (channel-major, then
//     row, then column of the patch) followed by a linear map;
//   - num_batches_tracked () -> (1): a 1-d int64 tensor, which torch.from_numpy and
//     safetensors take (torch.nn loads a 1-element tensor into its 0-d buffer).
// Everything else keeps its shape and dtype (float32; num_batches_tracked int64).
// Only the model's own tensors are exchanged: a slimmable or adaptive checkpoint's gate
// and per-width statistics are not part of the plain model and are left out.
#pragma once

#include <string>

#include "growth/models/arch.h"
#include "launch/interop/safetensors.h"
#include "runtime/param_set.h"

namespace sprout::launch {

// `tensor` (named as in a sprout model of `arch`) in its PyTorch shape, and back.
torch::Tensor to_torch_shape(const growth::ArchSpec& arch, const std::string& name, const torch::Tensor& tensor);
torch::Tensor from_torch_shape(const growth::ArchSpec& arch, const std::string& name, const torch::Tensor& tensor);

// The PyTorch state dict of `params`, a model of `arch`: parameters then buffers, in
// registration order (the order of the module's state_dict()).
NamedTensors torch_state_dict(const growth::ArchSpec& arch, const runtime::ParamSet& params);

// The sprout model of `arch` holding `state` (a PyTorch state dict). Every tensor of the
// model must be there, with its dtype and PyTorch shape, and nothing else: otherwise one
// ConfigError naming `where`, the tensor and what is wrong ("tensor fc1.weight has shape
// [64, 784]; the architecture 'mlp 784-128-10' needs [128, 784]"). A 0-d
// num_batches_tracked (PyTorch's own state_dict()) is accepted too.
runtime::ParamSet sprout_params(const growth::ArchSpec& arch, const NamedTensors& state, const std::string& where);

}  // namespace sprout::launch
