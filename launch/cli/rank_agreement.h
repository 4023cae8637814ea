// Note [Error agreement]
// An MPI job hangs when one rank fails and the others wait in a collective. sprout avoids
// that in two ways:
//  1. Phases without collectives whose failure every rank would see the same way — option
//     parsing, config validation, loading data — run inside agree(): each rank catches its
//     own error, then one allreduce tells everybody; the lowest failing rank prints one line
//     and every rank leaves with the same status (2 for configuration errors, else 1)
//     through MPI_Finalize. No rank is left waiting.
//  2. Anywhere else, an exception reaching main prints "sprout: rank R: <message>" and ends
//     the whole job with MPI_Abort; collectives that could wait forever are timed by the
//     watchdog (runtime/comm/watchdog.h).
//
// Note [Start-up agreement]
// Every collective is bounded by the watchdog, the first ones included. Until the options
// are agreed (agree_config), the communicator's timeout is kStartupTimeoutS: ranks only
// parse options then, so waiting longer means a rank is gone or was started with something
// else (an MPMD launch `train : eval --help`). agree_invocation, the first collective of
// every run, compares the command and whether help was asked for, so ranks that would
// take different paths end at once with one line and status 2 instead of waiting for each
// other in different collectives. The start-up ends with the first agree() or
// agree_config() that succeeds (both parse and compare options), or end_startup(); the
// timeout is then kTimeoutAfterStartUpS (runtime.timeout's default) until a command sets
// its own.
#pragma once

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/comm/communicator.h"

namespace sprout::launch {

// Thrown on every rank after an agreed failure; main returns `status` without aborting.
class AgreedExit : public std::runtime_error {
 public:
  explicit AgreedExit(int status) : std::runtime_error("agreed exit"), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

constexpr double kStartupTimeoutS = 60;
constexpr double kTimeoutAfterStartUpS = 300;

// The first collective of a run (Note [Start-up agreement]): sets the start-up timeout
// and compares the command (args[0]) and whether --help / -h is given across ranks.
// Returns 0 when they agree; otherwise rank 0 has printed one line naming both and every
// rank gets 2.
int agree_invocation(runtime::Communicator& comm, const std::vector<std::string>& args);
// Ends the start-up phase (once; later calls do nothing).
void end_startup(runtime::Communicator& comm);

// Runs `fn` (which must not call collectives) on every rank and agrees on its outcome.
// Collective. Throws AgreedExit on every rank if `fn` failed on any.
void agree(runtime::Communicator& comm, const std::function<void()>& fn);

// Compares the canonical configuration text across ranks; if any rank differs, rank 0
// prints the first differing option and every rank throws AgreedExit(2). On agreement the
// start-up timeout ends (Note [Start-up agreement]). Collective.
void agree_config(runtime::Communicator& comm, const std::string& canonical_text);

// The lines "key = value" of a canonical configuration text by key (a repeatable option's
// values joined with ';').
std::map<std::string, std::string> lines_by_key(const std::string& canonical_text);

}  // namespace sprout::launch
