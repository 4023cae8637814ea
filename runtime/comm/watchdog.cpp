#include "runtime/comm/watchdog.h"

#include <cstdio>

#include "runtime/error.h"

namespace sprout::runtime {

Watchdog::Watchdog(int rank, AbortFn abort) : rank_(rank), abort_(std::move(abort)) {
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Watchdog::Guard::Guard(Watchdog* dog, const char* op, const std::string& phase, double timeout_s)
    : dog_(timeout_s > 0 ? dog : nullptr) {
  if (!dog_) return;
  std::lock_guard<std::mutex> lock(dog_->mutex_);
  id_ = dog_->next_id_++;
  dog_->active_.emplace(id_, Entry{op, phase, timeout_s, std::chrono::steady_clock::now()});
}

Watchdog::Guard::~Guard() {
  if (!dog_) return;
  std::lock_guard<std::mutex> lock(dog_->mutex_);
  dog_->active_.erase(id_);
}

void Watchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    // 100 ms granularity: timeouts are seconds to minutes.
    wake_.wait_for(lock, std::chrono::milliseconds(100));
    if (stop_) break;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [id, e] : active_) {
      const double waited = std::chrono::duration<double>(now - e.started).count();
      if (waited <= e.timeout_s) continue;
      const std::string message =
          concat("sprout: rank ", rank_, ": timed out after ", static_cast<int>(e.timeout_s),
              " s waiting in ", e.op, " (", e.phase, "); a peer rank is gone or stuck");
      lock.unlock();
      abort_(message);
      return;
    }
  }
}

}  // namespace sprout::runtime
