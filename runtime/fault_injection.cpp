#include "runtime/fault_injection.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <unistd.h>

#include "runtime/error.h"

namespace sprout::runtime {

bool planned_fault(FaultPlan* plan) {
  const char* env = std::getenv("SPROUT_TEST_FAULT");
  if (!env || !*env) return false;
  std::stringstream ss(env);
  std::string step, rank;
  std::getline(ss, plan->kind, ':');
  std::getline(ss, plan->place, ':');
  std::getline(ss, step, ':');
  std::getline(ss, rank, ':');
  const bool ok = (plan->kind == "throw" || plan->kind == "exit" || plan->kind == "kill" || plan->kind == "hang") &&
                  (plan->place == "step" || plan->place == "checkpoint" || plan->place == "checkpoint-write" ||
                   plan->place == "growth") &&
                  !step.empty() && !rank.empty() && step.find_first_not_of("0123456789") == std::string::npos &&
                  rank.find_first_not_of("0123456789") == std::string::npos;
  SPROUT_CHECK(ok, ConfigError, "SPROUT_TEST_FAULT: '", env, "' is not KIND:PLACE:STEP:RANK ",
               "(kind throw|exit|kill|hang, place step|checkpoint|checkpoint-write|growth)");
  plan->step = std::stoll(step);
  plan->rank = std::stoi(rank);
  return true;
}

void inject_test_fault(const char* place, int64_t step, int rank) {
  FaultPlan plan;
  if (!planned_fault(&plan) || plan.place != place || plan.step != step || plan.rank != rank) return;
  std::fprintf(stderr, "sprout: rank %d: injecting test fault '%s' at %s %lld\n", rank, plan.kind.c_str(), place,
               static_cast<long long>(step));
  std::fflush(stderr);
  if (plan.kind == "throw") throw Error(concat("injected test fault at ", place, " ", step));
  if (plan.kind == "exit") std::_Exit(3);
  if (plan.kind == "hang") {
    for (;;) ::pause();
  }
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace sprout::runtime
