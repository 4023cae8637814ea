#include "runtime/device/transfer.h"

#include <c10/core/impl/VirtualGuardImpl.h>

namespace sprout::runtime {

void move_to_device(ParamSet& params, torch::Device device) {
  torch::NoGradGuard no_grad;
  bool moved = false;
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    const auto& p = params.parameter(i);
    if (p.device() == device) continue;
    params.set_parameter(params.parameter_name(i), p.detach().to(device));
    moved = true;
  }
  for (size_t i = 0; i < params.buffers().size(); ++i) {
    const auto& b = params.buffers()[i];
    if (b.device() == device) continue;
    params.set_buffer(params.buffer_names()[i], b.to(device));
    moved = true;
  }
  if (moved) params.bump_version();
}

torch::Tensor to_device(const torch::Tensor& host, torch::Device device) {
  if (device.is_cpu()) return host;
  if (host.device() == device) return host;
  auto staged = host.is_pinned() ? host : host.contiguous().pin_memory();
  return staged.to(device, /*non_blocking=*/true);
}

void set_current_device(torch::Device device) {
  if (!device.is_cuda()) return;
  // The device-guard registry is the same in LibTorch 1.13 and 2.x and needs no CUDA headers.
  c10::impl::VirtualGuardImpl guard(c10::DeviceType::CUDA);
  guard.setDevice(device);
}

}  // namespace sprout::runtime
