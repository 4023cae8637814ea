#include "launch/train/device_session.h"

#include "launch/cli/device_options.h"
#include "launch/cli/rank_agreement.h"
#include "runtime/device/transfer.h"
#include "runtime/error.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/nccl_bootstrap.h"

namespace sprout::launch {

DeviceSession::DeviceSession(runtime::DeviceChoice choice, torch::Device device,
                             std::unique_ptr<runtime::Communicator> comm)
    : choice_(choice), device_(device), comm_(std::move(comm)) {}

runtime::RuntimeContext DeviceSession::context(const runtime::RuntimeContext& base) const {
  runtime::RuntimeContext ctx = base;
  if (comm_) ctx.comm = comm_.get();
  ctx.device = device_;
  return ctx;
}

std::string DeviceSession::describe() const { return concat(device_, "/", runtime::to_string(choice_.backend)); }

DeviceSession open_device(runtime::RuntimeContext& ctx, const runtime::DeviceRequest& request, double timeout_s) {
  auto& world = *ctx.comm;
  world.set_timeout(timeout_s);
  world.set_phase("device set-up");
  runtime::DeviceProbe mine;
  agree(world, [&] { mine = runtime::probe_device(ctx.local_size, ctx.local_rank); });
  const auto agreed = runtime::agree_probe(world, mine);
  runtime::DeviceChoice choice;
  agree(world, [&] { choice = choose_device_for_options(request, agreed); });
  if (choice.device == runtime::DeviceKind::Cpu) return DeviceSession(choice, torch::kCPU, nullptr);

  const int local_rank = runtime::local_rank_from_environment(ctx.local_rank);
  torch::Device device(torch::kCUDA, 0);
  agree(world, [&] {
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(runtime::gpu_for_local_rank(local_rank, mine.gpus)));
    runtime::set_current_device(device);
  });
  runtime::BackendOptions options;
  options.gpu = device.index();
  if (auto* mpi = dynamic_cast<runtime::MpiCommunicator*>(&world)) options.watchdog = mpi->watchdog();
  std::unique_ptr<runtime::Communicator> comm;
  try {
    comm = runtime::make_backend(world, choice, options);
  } catch (const runtime::SettingError& e) {
    throw device_option_error(e);
  }
  if (comm) comm->set_timeout(timeout_s);
  return DeviceSession(choice, device, std::move(comm));
}

}  // namespace sprout::launch
