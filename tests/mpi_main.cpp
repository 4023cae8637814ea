// gtest main for tests run under mpiexec. Every rank runs every test in the same order
// (tests are collective). Rank 0 prints the usual report; other ranks print failures only.
// The exit status is agreed: non-zero on every rank if a test failed on any rank.
#include <gtest/gtest.h>

#include <memory>

#include "mpi_test_env.h"
#include "runtime/engine/threads.h"

namespace sprout::testing {
namespace {
runtime::MpiEnvironment* g_env = nullptr;
std::unique_ptr<runtime::Communicator> g_world;

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed()) std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?",
                                 r.line_number(), r.summary());
  }

 private:
  int rank_;
};
}  // namespace

runtime::Communicator& world() { return *g_world; }
runtime::MpiEnvironment& mpi_env() { return *g_env; }

}  // namespace sprout::testing

int main(int argc, char** argv) {
  sprout::runtime::MpiEnvironment env(&argc, &argv);
  sprout::testing::g_env = &env;
  sprout::testing::g_world = env.world();
  // A test that loses a peer must fail, not hang: collectives give up after 120 s.
  sprout::testing::g_world->set_timeout(120);
  sprout::runtime::configure_threads(1);
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = env.world_rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new sprout::testing::FailurePrinter(rank));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  sprout::testing::g_world.reset();
  return any;
}
