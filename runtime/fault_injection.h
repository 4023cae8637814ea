// Fault injection for tests (TEST ONLY; never set it in production).
//
//   SPROUT_TEST_FAULT=KIND:PLACE:STEP:RANK
//     KIND   throw (an exception: sprout's error path), exit (std::_Exit(3): a rank that
//            vanishes without MPI_Finalize), kill (SIGKILL to itself), hang (sleeps forever:
//            the other ranks' watchdog must end the job after runtime.timeout)
//     PLACE  step (after the optimizer update of STEP), checkpoint (inside the write of
//            the checkpoint of STEP: the temporary file is written, not yet committed),
//            checkpoint-write (halfway through this rank's share of the checkpoint of
//            STEP: runtime/checkpoint/shard_writer.h — the background writer thread of
//            an asynchronous save), growth (inside a growth event at STEP, before its
//            surgery)
//     RANK   the rank that fails
// e.g. SPROUT_TEST_FAULT=kill:checkpoint:20:1. Tests use it to prove that no failure hangs
// the job and no half-written file is ever taken as a checkpoint (tests/e2e/faults_test.sh).
#pragma once

#include <cstdint>
#include <string>

namespace sprout::runtime {

struct FaultPlan {
  std::string kind, place;
  int64_t step = -1;
  int rank = -1;
};

// The plan in SPROUT_TEST_FAULT, if any; throws ConfigError when it is malformed.
bool planned_fault(FaultPlan* plan);
// Fails as planned when (place, step, rank) match the plan; otherwise returns.
void inject_test_fault(const char* place, int64_t step, int rank);

}  // namespace sprout::runtime
