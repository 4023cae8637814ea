// GrowthRecord: one width change of a training run, as logged and as stored in checkpoints
// (/growth/history), so a restored run knows how its model came to be.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sprout::growth {

struct GrowthRecord {
  int64_t step = 0;        // the step before whose update the change happened
  std::string site;        // width site ("fc1")
  std::string strategy;    // gradmax | net2net | random | zeros | vt | adaptive | ...
  int64_t old_width = 0;
  int64_t new_width = 0;
  double seconds = 0;      // wall time of the surgery
  double grad_norm = 0;    // ‖∂L/∂W_new‖_F right after growth (GradMax's objective); 0 if n/a
};

using GrowthHistory = std::vector<GrowthRecord>;

}  // namespace sprout::growth
