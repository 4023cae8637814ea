// Everything that differs between LibTorch 1.13 (Debian, CPU) and 2.x (GPU machines)
// lives here, so the rest of sprout is written once.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/types.h>

#include <cstdint>
#include <mutex>

namespace sprout::compat {

// A CPU random generator seeded deterministically (same API on 1.13 and 2.x).
inline at::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// The generator's complete state as bytes, and back (checkpointing RNG state).
inline torch::Tensor generator_state(const at::Generator& gen) { return gen.get_state(); }
inline void set_generator_state(at::Generator& gen, const torch::Tensor& state) { gen.set_state(state); }

// LibTorch's process-wide default CPU generator (used by any op called without one): its
// state as bytes, and back (checkpoints record it so a resumed run draws the same numbers).
inline torch::Tensor default_generator_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}
inline void set_default_generator_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// Full float32 precision on CUDA: no TF32 in cuDNN convolutions (LibTorch allows it there by
// default, about 1e-3 relative on Ampere and later GPUs) nor in float32 matmuls (LibTorch's
// default already forbids it). For comparisons against CPU results.
inline void use_full_fp32_on_cuda() {
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setFloat32MatmulPrecision("highest");
}
inline bool cuda_tf32_allowed() {
  return at::globalContext().allowTF32CuDNN() || at::globalContext().allowTF32CuBLAS();
}

}  // namespace sprout::compat
