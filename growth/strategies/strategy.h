// Growth strategies: how the k new units of a width site are initialised.
//
// A Strategy fills in new units (growth/site_resize.h) and never touches communication
// itself beyond gather(): grow() below runs it inside the collective surgery transaction
// (runtime/surgery/surgery.h, Note [Surgery ordering]):
//   quiesce -> decide -> gather() on every rank (statistics reduced over the global batch)
//   -> plan() on rank 0 only (randomness, SVD) -> broadcast -> apply -> commit.
// So every rank ends with bitwise identical tensors whatever plan() does, and plan() may
// use LAPACK or random numbers freely. Randomness comes only from the generator passed to
// plan(), seeded by (train.seed, event step, site) by the caller.
//
// Registered strategies (one file each, one line in strategy.cpp's table):
//   gradmax  zero fan-in; fan-out = top-k left singular vectors of M scaled to c (gradmax.cpp)
//   random   zero fan-in; random fan-out columns of norm c                 (random.cpp)
//   zeros    zero fan-in and fan-out                                       (zeros.cpp)
//   net2net  Net2WiderNet: copies of random existing units, fan-out split  (net2net.cpp)
//   vt       variance transfer: [V;V] / [Z,−Z] pairs, rescaling, per-stage lr
//            (variance_transfer.cpp)
// All but net2net with noise keep the network's function (eval mode) unchanged.
//
// Width groups (growth/models/model.h): every strategy grows inner sites. On heads and
// residual groups zeros, random and net2net act on whole units of every slice (a head's
// q, k, v rows, a stage's channels in every producer, norm and consumer); gradmax grows
// heads (its M for a zero head, gradient_statistics.h) and refuses residual groups, vt
// refuses both (their closed forms are derived for one producer and one consumer with an
// elementwise activation between). A group normalised over its units (a Transformer's
// stream, LayerNorm) changes its function under zero-valued new units, so zeros, random
// and gradmax refuse it; net2net keeps it when every unit is copied equally often (add a
// multiple of the width). growth/README.md "Width groups" has the table.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "growth/models/model.h"
#include "growth/site_resize.h"
#include "runtime/comm/communicator.h"
#include "runtime/optim/optimizer.h"
#include "runtime/settings.h"
#include "runtime/surgery/surgery.h"

namespace sprout::growth {

struct StrategyOptions {
  // Norm c of each new fan-out column (gradmax, random): `fixed`: c = scale; `mean_norm`:
  // c = scale × mean L2 norm of the site's existing fan-out columns.
  double scale = 0.5;
  std::string scale_mode = "mean_norm";  // fixed | mean_norm
  // net2net: std of the Gaussian noise added to new fan-in rows, relative to the std of
  // the producer's existing weights (0: exactly function preserving).
  double noise = 0.0;
};

// This rank's part of the batch that statistics are computed on (GradMax's M). The
// losses are summed and divided by global_size, so summing over ranks gives the
// gradient of the mean loss over the global batch.
struct GrowthBatch {
  torch::Tensor x;  // (b, C, H, W) float, b may be 0 on some ranks
  torch::Tensor y;  // (b) int64
  int64_t global_size = 0;
};

struct GrowthContext {
  runtime::Communicator* comm = nullptr;
  Model* model = nullptr;
  WidthSite site;
  int64_t add = 0;                          // k, new units
  const GrowthBatch* batch = nullptr;       // may be null for strategies that need none
  StrategyOptions options;
  const runtime::Optimizer* optimizer = nullptr;  // current lr scales (vt); may be null
  // Width of every site before its first growth (stage 0), for vt's learning rates.
  std::map<std::string, int64_t> initial_widths;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Whether gather() needs ctx.batch.
  virtual bool needs_batch() const { return false; }
  // Why this strategy cannot grow `site` ("" if it can): e.g. vt's compensation needs a
  // positively homogeneous activation. Asked before a run starts and again by grow().
  virtual std::string refusal(const WidthSite& site) const { return ""; }
  // The same for growing `site` by `add` units (add <= 0: whatever the number); a strategy
  // whose verdict depends on the number overrides this.
  virtual std::string refusal_to_add(const WidthSite& site, int64_t add) const { return refusal(site); }
  // Every rank, in the same order: collectives allowed (e.g. allreduce of statistics).
  virtual void gather(GrowthContext& ctx) {}
  // Rank 0 only, no collectives: the new tensors of the site (and anything else it changes).
  virtual runtime::SurgeryPlan plan(GrowthContext& ctx, at::Generator& gen) = 0;
};

// Throws ConfigError for unknown names, listing the known ones.
std::unique_ptr<Strategy> make_strategy(const std::string& name);
std::vector<std::string> strategy_names();
// Declares the settings of every registered strategy that has some ("scale", "scale_mode"
// for gradmax and random, "noise" for net2net), bound to `options`' fields; a setting two
// strategies share is declared by each (the sink keeps one).
void declare_strategy_settings(runtime::SettingSink& sink, StrategyOptions& options);
// Validates options; throws ConfigError naming growth.scale / growth.scale_mode / growth.noise.
void validate(const StrategyOptions& options);

// c for gradmax and random (see StrategyOptions::scale_mode), from the existing fan-out
// rows (n, F_out).
double fan_out_norm(const StrategyOptions& options, const torch::Tensor& fan_out);
double fan_out_norm(const StrategyOptions& options, const SiteTensors& old);

// ConfigError "--growth.strategy vt cannot grow site S: <why>" when the strategy refuses it
// (by `add` units; 0: whatever the number).
void check_accepts(const Strategy& strategy, const WidthSite& site, int64_t add = 0);

// The refusals strategies share: a group that is not an inner site ("" for inner sites),
// and a group normalised over its units for a strategy whose new units are zero-valued.
std::string refuse_groups(const WidthSite& site, const std::string& strategy_reason);
std::string refuse_normalised(const WidthSite& site);

// One growth event as a surgery transaction (collective). Throws SurgeryError on failure.
// Returns the plan that was applied (the same on every rank).
runtime::SurgeryPlan grow(runtime::Surgery& surgery, Strategy& strategy, GrowthContext& ctx, int64_t step,
                          uint64_t seed);

// The seed of an event's generator: a hash of (train seed, step, site).
uint64_t event_seed(uint64_t train_seed, int64_t step, const std::string& site);

}  // namespace sprout::growth
