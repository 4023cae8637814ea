// How the data-parallel engine waits for peers (Note [Waiting without spinning] in
// runtime/engine/bucket_reducer.h): spin while the transfer moves, then sleep between polls
// so that a rank waiting for a late peer leaves it the core. The engine's own wait loop
// uses these figures; so does anything that must wait the way training waits (the
// calibration's timings).
#pragma once

#include <sys/prctl.h>

#include <chrono>
#include <thread>

namespace sprout::runtime {

inline constexpr double kWaitSpinSeconds = 500e-6;      // spin this long after the last progress
inline constexpr double kWaitSleepSeconds = 50e-6;      // then sleep this long between polls
inline constexpr unsigned long kWaitTimerSlackNs = 5000;  // so that 50 µs means 50 µs

// Calls done() until it returns true: spinning for the first `spin_s` seconds, sleeping
// kWaitSleepSeconds between calls after that. No timeout of its own: a caller that waits
// for peers holds a watchdog guard or checks a deadline in done().
template <typename Done>
void poll_until(Done&& done, double spin_s = kWaitSpinSeconds) {
  prctl(PR_SET_TIMERSLACK, kWaitTimerSlackNs, 0, 0, 0);
  const auto t0 = std::chrono::steady_clock::now();
  while (!done()) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > spin_s) {
      std::this_thread::sleep_for(std::chrono::duration<double>(kWaitSleepSeconds));
    }
  }
}

}  // namespace sprout::runtime
