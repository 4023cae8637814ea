// Everything that differs between LibTorch 1.13 (Debian, CPU) and 2.x (GPU machines)
// lives here, so the rest of sprout is written once.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/types.h>
#include <torch/version.h>

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

// Mixed precision while it lives (runtime.precision = bf16): autocast-eligible ops on
// `device`'s kind (matmuls, convolutions) compute in `dtype`; parameters stay float32
// (autocast casts them per op, so their gradients come back float32). Backward runs what
// the guarded forward recorded, in the same precisions, whether or not the guard still lives.
// LibTorch 2.4 addresses autocast by device type; earlier releases have per-device calls.
class AutocastGuard {
 public:
  AutocastGuard(torch::DeviceType device, at::ScalarType dtype) : device_(device) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    was_enabled_ = at::autocast::is_autocast_enabled(device_);
    was_dtype_ = at::autocast::get_autocast_dtype(device_);
    at::autocast::set_autocast_enabled(device_, true);
    at::autocast::set_autocast_dtype(device_, dtype);
#else
    const bool cuda = device_ == torch::kCUDA;
    was_enabled_ = cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    was_dtype_ = cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    if (cuda) {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(dtype);
    } else {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(dtype);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    // The cache of casted weights is valid for one forward only: parameters change each step.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(device_, was_enabled_);
    at::autocast::set_autocast_dtype(device_, was_dtype_);
#else
    if (device_ == torch::kCUDA) {
      at::autocast::set_enabled(was_enabled_);
      at::autocast::set_autocast_gpu_dtype(was_dtype_);
    } else {
      at::autocast::set_cpu_enabled(was_enabled_);
      at::autocast::set_autocast_cpu_dtype(was_dtype_);
    }
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  torch::DeviceType device_;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kBFloat16;
};

}  // namespace sprout::compat
