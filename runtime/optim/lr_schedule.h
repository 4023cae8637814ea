// Learning-rate schedules: lr(step) for step in [0, total_steps).
#pragma once

#include <cstdint>
#include <string>

namespace sprout::runtime {

struct LrScheduleOptions {
  std::string name = "constant";  // constant | cosine
  double base_lr = 0.05;
  int64_t warmup_steps = 0;  // linear ramp from 0 to base_lr
  double min_lr = 0.0;       // cosine floor
};

class LrSchedule {
 public:
  LrSchedule(LrScheduleOptions options, int64_t total_steps);
  double at(int64_t step) const;

 private:
  LrScheduleOptions options_;
  int64_t total_steps_;
};

}  // namespace sprout::runtime
