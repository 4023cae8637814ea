// The LibTorch side of CUDA that sprout's NCCL backend needs, in one place: LibTorch 2.x
// with CUDA (GPU machines) gives its current stream; a LibTorch without CUDA (Debian's
// 1.13, where the NCCL backend is only compiled and linked) has no CUDA tensors, and the
// legacy default stream stands in. SPROUT_TORCH_CUDA is set by CMake (runtime/device/device.cmake)
// when LibTorch has c10_cuda. Include from the NCCL backend's .cpp files only.
#pragma once

#include <cuda_runtime_api.h>

#ifdef SPROUT_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace sprout::compat {

// The stream LibTorch enqueues this thread's kernels on for `device` (the compute stream).
inline cudaStream_t current_cuda_stream(int device) {
#ifdef SPROUT_TORCH_CUDA
  return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream();
#else
  (void)device;
  return nullptr;
#endif
}

}  // namespace sprout::compat
