// Watchdog: ends the job when a blocking collective waits longer than its timeout.
//
// MPI collectives block inside the library and cannot be interrupted, so instead of
// polling every call, each collective registers itself (Watchdog::Guard) and a background
// thread checks the start time of the one in flight. When it exceeds the timeout the
// watchdog prints one line naming the operation and phase and calls the abort function
// (MPI_Abort), which takes every rank down: a dead peer never leaves the others waiting.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace sprout::runtime {

class Watchdog {
 public:
  using AbortFn = std::function<void(const std::string& message)>;

  Watchdog(int rank, AbortFn abort);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // RAII registration of one blocking operation. Any number may be in flight at once
  // (a communication thread and the main thread); each is timed on its own.
  class Guard {
   public:
    Guard(Watchdog* dog, const char* op, const std::string& phase, double timeout_s);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Watchdog* dog_;
    uint64_t id_ = 0;
  };

 private:
  void run();

  int rank_;
  AbortFn abort_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  struct Entry {
    std::string op;
    std::string phase;
    double timeout_s;
    std::chrono::steady_clock::time_point started;
  };
  // Operations in flight, by registration id (guarded by mutex_).
  std::map<uint64_t, Entry> active_;
  uint64_t next_id_ = 1;
  std::thread thread_;
};

}  // namespace sprout::runtime
