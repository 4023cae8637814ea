// Automatic growth (growth.auto = true): *when* to grow, *where* and *by how much*, as pure
// functions of numbers every rank holds identically (growth/README.md "Automatic growth").
//
//  - When: PlateauDetector. The caller feeds it the training loss of every step, already
//    averaged over the ranks (so every rank feeds the same numbers and decides the same
//    way). Every `window` steps the window's mean loss is compared with the best window
//    mean so far: an improvement is a relative decrease of at least `min_delta`
//    (mean < best·(1 − min_delta)); `patience` windows in a row without one make a
//    plateau (patience 0: every closed window does). A growth resets the count, and the `cooldown` steps after it count for
//    nothing; no plateau is reported before step `start`. The best mean is kept through a
//    growth: the strategies keep the function, so the loss does not jump.
//  - Where: every candidate (a width group the strategy accepts, or a place a block can go:
//    growth/auto_depth.h) has a score, the largest feasible score wins, ties to the first in
//    the model's order (width groups, then depth places). The score is GradMax's bound:
//    the sum of the top squared singular values of the group's M (gradient_statistics.h),
//    as many as the directions the added units take — ‖∂L/∂W_new‖² for new fan-out columns
//    of norm 1 — divided by the cost of those units (parameters by default), so that a wide
//    layer does not win by its size alone. A new block's bound is the same quantity for the
//    units of its own sites, grown from nothing (auto_depth.h).
//  - How much: round(fraction × width), at least 1 unit, lowered until the model fits
//    growth.max_params (total parameters) and growth.max_macs (MACs per example); a block
//    at a time. A candidate that cannot add even 1 unit (or its block) within the budget is
//    infeasible, and when no candidate is feasible, growth has reached the budget.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "growth/models/arch.h"

namespace sprout::growth {

struct PlateauSettings {
  int64_t window = 50;      // steps per evaluation window
  int64_t patience = 3;     // windows without improvement that make a plateau
  double min_delta = 0.01;  // relative improvement that counts
  int64_t cooldown = 0;     // steps after a growth during which windows do not count
  int64_t start = 0;        // no plateau before this step
};

// Everything the detector carries from step to step; a checkpoint stores it whole
// (/growth/auto), so a resumed run continues where the interrupted one was.
struct PlateauState {
  double window_sum = 0;      // losses of the open window
  int64_t window_steps = 0;   // steps in the open window
  double best = std::numeric_limits<double>::infinity();  // best closed window mean
  double last_mean = std::numeric_limits<double>::quiet_NaN();  // the last closed window's mean
  int64_t stale = 0;          // closed windows since the last improvement (or growth)
  int64_t windows = 0;        // windows closed so far
  int64_t last_growth = -1;   // step of the last automatic growth, -1: none yet
  bool operator==(const PlateauState& o) const;
};

class PlateauDetector {
 public:
  explicit PlateauDetector(PlateauSettings settings, PlateauState state = {});

  // One step's loss (the mean over every rank's examples), after step `step` (0-based)
  // was taken. Closes the window when it is full and returns true then.
  bool add(int64_t step, double loss);
  // Whether growth is due before step `step`: at least one closed window, `patience` stale
  // windows, at or after `start`, and not within `cooldown` steps of the last growth.
  bool plateau(int64_t step) const;
  // A growth happened before step `step`: the stale count restarts, the cooldown begins.
  void grew(int64_t step);

  const PlateauState& state() const { return state_; }
  const PlateauSettings& settings() const { return settings_; }

 private:
  PlateauSettings settings_;
  PlateauState state_;
};

// A place the model could grow and what growing it would give and cost.
struct GrowthCandidate {
  std::string name;           // "fc1", "block2.heads" (a depth candidate: its position)
  std::string kind;           // "inner", "heads" (width groups); "depth" (a block position)
  int64_t width = 0;          // current units (depth: blocks at the place)
  int64_t add = 0;            // units (depth: blocks) it would gain (0: infeasible)
  double bound = 0;           // GradMax bound: Σ of the top squared singular values of M
  double cost = 0;            // what `add` units cost in the chosen measure
  int64_t params_after = 0;   // total parameters after growing it
  int64_t macs_after = 0;     // MACs per example after growing it
  double score = 0;           // bound / cost (0 when infeasible)
  std::string infeasible;     // why it cannot grow ("" if it can)
};

// round(fraction × width), at least 1.
int64_t units_to_add(int64_t width, double fraction);

// Σ of the `directions` largest squared singular values of `m` (float64 on the CPU; fewer
// when m has fewer): ‖∂L/∂W_new‖_F² for new fan-out columns of norm 1 (gradmax.cpp).
double gradmax_bound(const torch::Tensor& m, int64_t directions);

// Budget of the model's size; 0 means no limit.
struct GrowthBudget {
  int64_t max_params = 0;
  int64_t max_macs = 0;
};

// Parameters (weights, biases and norm scales/shifts of the family's layer table) and MACs
// per example of `arch` with the groups in `widths` changed (growth/models/macs.h).
struct ModelSize {
  int64_t params = 0;
  int64_t macs = 0;
};
ModelSize model_size(const ArchSpec& arch, const std::map<std::string, int64_t>& widths = {});

// The units `group` (now `width` wide in `arch`) may gain: `wanted`, lowered until the
// grown model fits `budget`; 0 when not even one fits. Fills params_after and macs_after.
int64_t fit_to_budget(const ArchSpec& arch, const std::string& group, int64_t width, int64_t wanted,
                      const GrowthBudget& budget, ModelSize* after = nullptr);

// How a candidate's bound is normalised (growth.auto_cost): by the parameters or the MACs per
// example its units add, or not at all.
enum class CostMeasure { Params, Macs, None };
CostMeasure parse_cost_measure(const std::string& text);  // ConfigError naming growth.auto_cost
std::string cost_measure_name(CostMeasure measure);

// What growing from `now` to `after` costs in `measure` (None: 1); at least 1, so that a
// candidate whose units cost nothing in this measure does not divide by zero.
double growth_cost(const ModelSize& now, const ModelSize& after, CostMeasure measure);

// Whether `size` is within `budget`.
bool fits_budget(const ModelSize& size, const GrowthBudget& budget);

// How much: sets `c.add` (units_to_add, fitted to `budget`), params_after, macs_after, cost
// and, when not even one unit fits, `infeasible`; `c.name` and `c.width` are given.
void size_candidate(const ArchSpec& arch, GrowthCandidate& c, double fraction, const GrowthBudget& budget,
                    CostMeasure measure);

// Score of every feasible candidate: bound / cost (None: bound); an infeasible one scores 0.
void score_candidates(std::vector<GrowthCandidate>& candidates);
// Index of the best feasible candidate (largest score, ties to the lowest index), -1 if none.
int best_candidate(const std::vector<GrowthCandidate>& candidates);

}  // namespace sprout::growth
