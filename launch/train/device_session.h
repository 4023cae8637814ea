// Opening the job's device: agree on what every rank can use, choose device and backend
// (runtime/device/device.h), make the CUDA device current and build the backend communicator.
#pragma once

#include <memory>
#include <string>

#include "runtime/comm/backend.h"
#include "runtime/context.h"
#include "runtime/device/device.h"

namespace sprout::launch {

class DeviceSession {
 public:
  DeviceSession() = default;
  DeviceSession(runtime::DeviceChoice choice, torch::Device device, std::unique_ptr<runtime::Communicator> comm);

  // `base` with this session's device and communicator (the MPI world when it is the backend).
  runtime::RuntimeContext context(const runtime::RuntimeContext& base) const;
  const runtime::DeviceChoice& choice() const { return choice_; }
  torch::Device device() const { return device_; }
  std::string describe() const;  // "cuda:0/nccl"

 private:
  runtime::DeviceChoice choice_;
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<runtime::Communicator> comm_;  // null: the MPI world
};

// Collective over ctx.comm (the MPI world). Every rank reaches the same choice; a request
// that cannot be met ends every rank with one line and status 2 (agree()). `timeout_s`
// bounds the backend's bring-up as it bounds collectives.
DeviceSession open_device(runtime::RuntimeContext& ctx, const runtime::DeviceRequest& request, double timeout_s);

}  // namespace sprout::launch
