// Intra-op threading per rank. When ranks fill a node's cores, one thread per rank is
// fastest (no oversubscription); runtime.threads overrides.
#pragma once

namespace sprout::runtime {

// Threads per rank when the user did not say: cores on this node / ranks on this node,
// at least 1.
int default_threads(int local_ranks);

// Sets LibTorch's intra-op threads and, where the BLAS is OpenBLAS, its thread count.
void configure_threads(int threads);

}  // namespace sprout::runtime
