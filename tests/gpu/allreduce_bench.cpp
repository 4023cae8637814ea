// Allreduce bandwidth of the job's backends, side by side in one run (a benchmark that
// prints numbers; not a test). Under mpirun:
//   mpirun -n N build/tests/gpu/gpu_allreduce_bench [max_mib=64] [iterations=20]
// Rows: backend, device, bytes, time per allreduce, algorithm bandwidth (bytes / time)
// and bus bandwidth (algbw · 2(n−1)/n, nccl-tests' convention: comparable across n).
// The CUDA row uses the backend runtime.backend=auto would pick (NCCL with one GPU per
// rank, else MPI with host staging); the CPU row always MPI. Rank 0 prints; the last line
// is the summary tests/gpu/check.sh reads.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/comm/backend.h"
#include "runtime/device/device.h"
#include "runtime/device/transfer.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/nccl_bootstrap.h"

namespace sprout::runtime {
namespace {

struct Row {
  double seconds = 0, algbw = 0, busbw = 0;
};

Row measure(Communicator& comm, int64_t bytes, torch::Device device, int iterations) {
  auto t = torch::ones({bytes / 4}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  for (int i = 0; i < 3; ++i) comm.allreduce(t, ReduceOp::Sum);  // warm-up (connections, caches)
  comm.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) comm.allreduce(t, ReduceOp::Sum);  // each waits for completion
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iterations;
  // The slowest rank defines the time.
  const double worst = allreduce_scalar(comm, s, ReduceOp::Max);
  Row r;
  r.seconds = worst;
  r.algbw = bytes / worst / 1e9;
  r.busbw = r.algbw * 2.0 * (comm.size() - 1) / comm.size();
  return r;
}

int run(int argc, char** argv) {
  MpiEnvironment env(&argc, &argv);
  auto world = env.world();
  world->set_timeout(120);
  const int64_t max_mib = argc > 1 ? std::atoll(argv[1]) : 64;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 20;
  const bool root = world->rank() == 0;

  const auto probe = agree_probe(*world, probe_device(env.local_size()));
  DeviceRequest request;
  const auto choice = choose_device(request, probe);
  std::unique_ptr<Communicator> gpu;
  torch::Device device = torch::kCPU;
  if (choice.device == DeviceKind::Cuda) {
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                             gpu_for_local_rank(local_rank_from_environment(env.local_rank()),
                                                                probe_device(env.local_size()).gpus)));
    set_current_device(device);
    BackendOptions options;
    options.gpu = device.index();
    options.watchdog = dynamic_cast<MpiCommunicator*>(world.get())->watchdog();
    gpu = make_backend(*world, choice, options);
  }
  if (root) {
    std::printf("allreduce over %d rank(s); nccl %s\n", world->size(), nccl_version().c_str());
    std::printf("%-22s %-7s %12s %12s %12s %12s\n", "backend", "device", "bytes", "time_us", "algbw_GB/s",
                "busbw_GB/s");
  }
  Row last_gpu, last_cpu;
  int64_t last_bytes = 0;
  for (int64_t bytes = 4096; bytes <= max_mib * (int64_t{1} << 20); bytes *= 8) {
    struct Target {
      Communicator* comm;
      torch::Device device;
      Row* last;
    };
    std::vector<Target> targets{{world.get(), torch::kCPU, &last_cpu}};
    if (gpu) targets.insert(targets.begin(), Target{gpu.get(), device, &last_gpu});
    last_bytes = bytes;
    for (auto& target : targets) {
      const Row r = measure(*target.comm, bytes, target.device, iterations);
      *target.last = r;
      if (root) {
        std::printf("%-22s %-7s %12lld %12.1f %12.3f %12.3f\n", target.comm->backend().c_str(),
                    target.device.is_cuda() ? "cuda" : "cpu", static_cast<long long>(bytes), r.seconds * 1e6,
                    r.algbw, r.busbw);
      }
    }
  }
  if (root) {
    std::printf("allreduce_summary ranks=%d max_bytes=%lld gpu_backend=%s gpu_algbw_GBps=%.3f cpu_algbw_GBps=%.3f\n",
                world->size(), static_cast<long long>(last_bytes), gpu ? gpu->backend().c_str() : "none",
                last_gpu.algbw, last_cpu.algbw);
  }
  std::fflush(stdout);
  gpu.reset();
  return 0;
}

}  // namespace
}  // namespace sprout::runtime

int main(int argc, char** argv) {
  try {
    return sprout::runtime::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_allreduce_bench: %s\n", e.what());
    sprout::runtime::MpiEnvironment::abort_job("", 1);
  }
}
