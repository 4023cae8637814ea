#include "runtime/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace sprout::runtime {

LrSchedule::LrSchedule(LrScheduleOptions options, int64_t total_steps)
    : options_(std::move(options)), total_steps_(std::max<int64_t>(total_steps, 1)) {
  SPROUT_CHECK(options_.name == "constant" || options_.name == "cosine", ConfigError,
               "learning-rate schedule: unknown schedule '", options_.name, "' (expected constant or cosine)");
  SPROUT_CHECK(options_.warmup_steps >= 0, ConfigError, "learning-rate schedule: warmup_steps must be >= 0, got ",
               options_.warmup_steps);
}

double LrSchedule::at(int64_t step) const {
  const auto& o = options_;
  if (step < o.warmup_steps) return o.base_lr * static_cast<double>(step + 1) / (o.warmup_steps + 1);
  if (o.name == "constant") return o.base_lr;
  const double span = static_cast<double>(std::max<int64_t>(total_steps_ - o.warmup_steps, 1));
  const double t = std::clamp(static_cast<double>(step - o.warmup_steps) / span, 0.0, 1.0);
  return o.min_lr + 0.5 * (o.base_lr - o.min_lr) * (1.0 + std::cos(M_PI * t));
}

}  // namespace sprout::runtime
