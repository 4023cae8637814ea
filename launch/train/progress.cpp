#include "launch/train/progress.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "runtime/error.h"

namespace sprout::launch {

Progress::Progress(bool active, const std::string& mode, const std::string& metrics_path, int64_t total_steps)
    : active_(active), total_(total_steps) {
  if (!active_) return;
  // Open MPI hands ranks a pseudo-terminal even when mpirun's own output is a pipe, so
  // under a launcher `auto` means plain lines; `bar` forces the bar.
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("SLURM_PROCID");
  bar_ = mode == "bar" || (mode == "auto" && !launched && ::isatty(STDOUT_FILENO));
  quiet_ = mode == "none";
  if (!metrics_path.empty()) {
    metrics_ = std::fopen(metrics_path.c_str(), "w");
    SPROUT_CHECK(metrics_, ConfigError, "--log.metrics: cannot write '", metrics_path, "': ", std::strerror(errno));
  }
}

Progress::~Progress() {
  if (metrics_) std::fclose(metrics_);
}

void Progress::write_row(const runtime::JsonObject& fields, const char* default_event) {
  if (!metrics_) return;
  runtime::JsonObject row = fields;
  if (!row.has("event")) row.add("event", default_event);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  row.add("time", std::chrono::duration_cast<std::chrono::milliseconds>(now).count() / 1000.0);
  std::fprintf(metrics_, "%s\n", row.str().c_str());
  std::fflush(metrics_);
}

void Progress::record(const runtime::JsonObject& fields) {
  if (active_) write_row(fields, "final");
}

void Progress::step(int64_t step, const runtime::JsonObject& fields, const std::string& line) {
  if (!active_) return;
  write_row(fields, "train");
  if (quiet_) return;
  if (bar_) {
    const int width = 30;
    const int filled = total_ > 0 ? static_cast<int>(width * (step + 1) / total_) : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stdout, "\r[%s] %s", bar.c_str(), line.c_str());
    bar_shown_ = true;
  } else {
    std::fprintf(stdout, "%s\n", line.c_str());
  }
  std::fflush(stdout);
}

void Progress::event(const std::string& line, const runtime::JsonObject* fields) {
  if (!active_) return;
  if (fields) write_row(*fields, "event");
  if (quiet_) return;
  if (bar_shown_) std::fprintf(stdout, "\n");
  bar_shown_ = false;
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

void Progress::finish() {
  if (active_ && bar_shown_) std::fprintf(stdout, "\n");
  bar_shown_ = false;
  std::fflush(stdout);
}

}  // namespace sprout::launch
