// Moving tensors between host and device.
#pragma once

#include <torch/types.h>

#include "runtime/param_set.h"

namespace sprout::runtime {

// Moves every parameter and buffer to `device`: same names, new leaf tensors (Note
// [Parameter replacement]), version bumped. No-op for tensors already there. Create the
// optimizer state after this (Optimizer::ensure_state allocates it next to the parameter).
void move_to_device(ParamSet& params, torch::Device device);

// `host` on `device`. On CUDA the bytes go through pinned (page-locked) host memory and
// the copy is asynchronous on the current stream: the caller may go on enqueueing work;
// LibTorch's pinned-memory cache keeps the staging block until the copy has finished.
// On the CPU it returns `host` itself.
torch::Tensor to_device(const torch::Tensor& host, torch::Device device);

// Makes `device` the process's current CUDA device (LibTorch's and the CUDA runtime's),
// so allocations without an explicit index land there. No-op for the CPU.
void set_current_device(torch::Device device);

}  // namespace sprout::runtime
