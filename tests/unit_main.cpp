// gtest main for single-process unit tests: one intra-op thread, so tests on a shared
// 2-core machine do not oversubscribe it.
#include <gtest/gtest.h>

#include "runtime/engine/threads.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  sprout::runtime::configure_threads(1);
  return RUN_ALL_TESTS();
}
