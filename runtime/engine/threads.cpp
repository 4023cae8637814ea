#include "runtime/engine/threads.h"

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <thread>

#include <ATen/Parallel.h>

namespace sprout::runtime {

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int default_threads(int local_ranks) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, std::min(usable_cpus(), cores / std::max(1, local_ranks)));
}

void configure_threads(int threads) {
  threads = std::max(1, threads);
  at::set_num_threads(threads);
  // LibTorch on Debian calls the system BLAS; OpenBLAS keeps its own pool, sized at load
  // time from the core count. Resize it so ranks do not fight over cores.
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(threads);
}

}  // namespace sprout::runtime
