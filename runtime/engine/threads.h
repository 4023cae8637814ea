// Intra-op threading per rank. When ranks fill a node's cores, one thread per rank is
// fastest (no oversubscription); runtime.threads overrides.
#pragma once

namespace sprout::runtime {

// Threads per rank when the user did not say: cores on this node / ranks on this node, at
// least 1, and never more than the cores this process may run on (its affinity mask):
// `mpirun` binds up to 2 ranks to one core each by default, and 8 threads on one core
// would be slower than 1.
int default_threads(int local_ranks);

// CPUs in this process's affinity mask (all online CPUs when it is not bound).
int usable_cpus();

// Sets LibTorch's intra-op threads and, where the BLAS is OpenBLAS, its thread count.
void configure_threads(int threads);

}  // namespace sprout::runtime
