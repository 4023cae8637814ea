#include "growth/auto_growth.h"

#include <algorithm>
#include <cmath>

#include "growth/models/family.h"
#include "growth/models/macs.h"
#include "growth/models/memory_estimate.h"
#include "runtime/error.h"

namespace sprout::growth {

bool PlateauState::operator==(const PlateauState& o) const {
  auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  return same(window_sum, o.window_sum) && window_steps == o.window_steps && same(best, o.best) &&
         same(last_mean, o.last_mean) && stale == o.stale && windows == o.windows && last_growth == o.last_growth;
}

PlateauDetector::PlateauDetector(PlateauSettings settings, PlateauState state)
    : settings_(settings), state_(state) {
  SPROUT_CHECK(settings_.window > 0, Error, "plateau detector: window ", settings_.window, " must be > 0");
}

bool PlateauDetector::add(int64_t step, double loss) {
  auto& s = state_;
  s.window_sum += loss;
  if (++s.window_steps < settings_.window) return false;
  const double mean = s.window_sum / static_cast<double>(s.window_steps);
  s.window_sum = 0;
  s.window_steps = 0;
  s.last_mean = mean;
  ++s.windows;
  // Windows that end within the cooldown neither improve nor go stale: the new units are
  // still finding their place (ReduceLROnPlateau's cooldown does the same).
  const bool cooling = s.last_growth >= 0 && step + 1 - s.last_growth < settings_.cooldown;
  // The best mean moves only on an improvement that counts, so a slow drift down (less
  // than min_delta per window) still adds up to one once it has gone far enough.
  if (mean < s.best * (1.0 - settings_.min_delta)) {
    s.best = mean;
    s.stale = 0;
  } else if (!cooling) {
    ++s.stale;
  }
  return true;
}

bool PlateauDetector::plateau(int64_t step) const {
  const auto& s = state_;
  // A plateau needs a window's evidence: not before the first window has closed.
  if (s.windows == 0 || step < settings_.start || s.stale < settings_.patience) return false;
  return s.last_growth < 0 || step - s.last_growth >= settings_.cooldown;
}

void PlateauDetector::grew(int64_t step) {
  state_.stale = 0;
  state_.last_growth = step;
}

int64_t units_to_add(int64_t width, double fraction) {
  return std::max<int64_t>(1, std::llround(fraction * static_cast<double>(width)));
}

double gradmax_bound(const torch::Tensor& m, int64_t directions) {
  if (m.numel() == 0 || directions <= 0) return 0.0;
  const auto s = at::linalg_svdvals(m.to(torch::kCPU, torch::kFloat64));  // descending
  const int64_t k = std::min<int64_t>(directions, s.numel());
  return s.narrow(0, 0, k).pow(2).sum().item<double>();
}

ModelSize model_size(const ArchSpec& arch, const std::map<std::string, int64_t>& widths) {
  const ArchSpec grown = widths.empty() ? arch : with_site_widths(arch, widths);
  ModelSize size;
  double params = 0;
  for (const auto& layer : model_family(grown.kind).layers(grown, {})) {
    params += layer.weights + layer.norm;
    size.macs += layer.macs;
  }
  size.params = static_cast<int64_t>(params);
  return size;
}

bool fits_budget(const ModelSize& size, const GrowthBudget& budget) {
  return (budget.max_params <= 0 || size.params <= budget.max_params) &&
         (budget.max_macs <= 0 || size.macs <= budget.max_macs);
}

int64_t fit_to_budget(const ArchSpec& arch, const std::string& group, int64_t width, int64_t wanted,
                      const GrowthBudget& budget, ModelSize* after) {
  auto size_with = [&](int64_t add) { return model_size(arch, {{group, width + add}}); };
  // Parameters and MACs grow with every unit added, so the largest k that fits is found by
  // bisection on [0, wanted].
  int64_t lo = 0, hi = wanted;
  if (fits_budget(size_with(hi), budget)) {
    lo = hi;
  } else {
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      (fits_budget(size_with(mid), budget) ? lo : hi) = mid;
    }
  }
  if (after) *after = size_with(lo);
  return lo;
}

CostMeasure parse_cost_measure(const std::string& text) {
  if (text == "params") return CostMeasure::Params;
  if (text == "macs") return CostMeasure::Macs;
  if (text == "none") return CostMeasure::None;
  throw ConfigError(concat("--growth.auto_cost: '", text, "' is not one of params | macs | none"));
}

std::string cost_measure_name(CostMeasure measure) {
  switch (measure) {
    case CostMeasure::Params: return "params";
    case CostMeasure::Macs: return "macs";
    case CostMeasure::None: return "none";
  }
  return "?";
}

void size_candidate(const ArchSpec& arch, GrowthCandidate& c, double fraction, const GrowthBudget& budget,
                    CostMeasure measure) {
  const ModelSize now = model_size(arch);
  ModelSize after;
  c.add = fit_to_budget(arch, c.name, c.width, units_to_add(c.width, fraction), budget, &after);
  c.params_after = after.params;
  c.macs_after = after.macs;
  c.infeasible = c.add > 0 ? "" : "budget";
  c.cost = growth_cost(now, after, measure);
}

double growth_cost(const ModelSize& now, const ModelSize& after, CostMeasure measure) {
  double cost = 1;
  switch (measure) {
    case CostMeasure::Params: cost = static_cast<double>(after.params - now.params); break;
    case CostMeasure::Macs: cost = static_cast<double>(after.macs - now.macs); break;
    case CostMeasure::None: cost = 1; break;
  }
  // A group whose units cost nothing in this measure (none do in sprout's families) would
  // divide by zero: count it as one.
  return cost > 0 ? cost : 1;
}

void score_candidates(std::vector<GrowthCandidate>& candidates) {
  for (auto& c : candidates) c.score = c.infeasible.empty() && c.add > 0 ? c.bound / c.cost : 0.0;
}

int best_candidate(const std::vector<GrowthCandidate>& candidates) {
  int best = -1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    if (!c.infeasible.empty() || c.add <= 0) continue;
    if (best < 0 || c.score > candidates[best].score) best = static_cast<int>(i);
  }
  return best;
}

}  // namespace sprout::growth
