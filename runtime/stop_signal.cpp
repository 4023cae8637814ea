#include "runtime/stop_signal.h"

#include <csignal>

namespace sprout::runtime {

namespace {
volatile std::sig_atomic_t g_stop = 0;  // Note [Signal flag]
extern "C" void on_stop_signal(int) { g_stop = 1; }
}  // namespace

void install_stop_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_signal_received() { return g_stop != 0; }

void request_stop_for_test() { g_stop = 1; }

}  // namespace sprout::runtime
