#include "runtime/engine/threads.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace sprout::runtime {
namespace {

TEST(Threads, DefaultSplitsTheNodeAndRespectsTheAffinityMask) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(usable_cpus(), CPU_COUNT(&saved));
  EXPECT_EQ(default_threads(cores), 1);
  EXPECT_EQ(default_threads(4 * cores), 1);
  // Bound to one CPU (what `mpirun -np 2` does by default): one thread, whatever the node.
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(usable_cpus(), 1);
  EXPECT_EQ(default_threads(1), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(default_threads(1), std::min(cores, CPU_COUNT(&saved)));
}

}  // namespace
}  // namespace sprout::runtime
