// Growth schedules: which site grows by how many units before which step.
//
// Two forms (launch/growth/options.cpp reads them from the command line / INI file):
//  - events: "STEP:SITE:+K", e.g. "600:fc1:+64" — before the update of step 600 (after 600
//    optimizer steps), site fc1 gains 64 units. Repeatable; events of one step run in the
//    order given.
//  - depth events: "STEP:PLACE:+Kblock" (or +Kblocks), e.g. "600:stage2:+1block" — before
//    the update of step 600, K blocks are added at PLACE (a ResNet's stage1..stage3, a ViT's
//    "blocks"; growth/depth.h). Width and depth events of one step run in the order given.
//  - layer events: "STEP:LAYER:+Klayer" (or +Klayers), e.g. "600:fc2:+1layer" — an mlp or
//    cnn gains K identity layers after hidden layer LAYER (fc2_1, fc2_2, …; growth/depth.h).
//  - compact (the GradMax paper's schedule): growth at steps start, start+every, …,
//    start+(times−1)·every; at each, every growing site gains an equal share of the way from
//    its starting width (the model.* options) to its target. The target is either
//    given per site (growth.target "fc1:256,fc2:256") or, with growth.fraction f, every
//    site in growth.sites (default all) grows by round(f·start width) per event (the
//    paper: f = 0.25 of the initial width, 12 times: 0.25× -> 1×). When the total is not
//    a multiple of `times`, the earliest events add one more. The compact schedule grows
//    depth too: growth.depth_target "stage2:3,stage3:2" (a ResNet's blocks per stage, a
//    ViT's "blocks", an mlp's or cnn's layers inserted after a hidden layer: "fc2:1")
//    spreads the blocks a place lacks over the same events the same way; at one step the
//    blocks come before the widths. With it, growth.target and growth.fraction may be left
//    out (depth alone).
// A schedule is validated against the model (known sites) and the run (step < total
// steps), K > 0; every problem is a ConfigError naming the option and the value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sprout::growth {

struct GrowthEvent {
  int64_t step = 0;
  std::string site;
  int64_t add = 0;   // units, or blocks for a depth event
  bool depth = false;  // "+Kblock" / "+Klayer": `add` blocks or layers at the place `site` (growth/depth.h)
  std::string unit;    // a depth event's unit as written: "block" or "layer"
  std::string text;  // as written by the user or generated ("600:fc1:+64")
};

struct CompactSchedule {
  int64_t start = 0, every = 0, times = 0;
  std::map<std::string, int64_t> target;  // site -> final width (exclusive with fraction)
  double fraction = 0;                     // per-event addition relative to the start width
  std::vector<std::string> sites;          // with fraction: sites that grow (empty: all)
  std::map<std::string, int64_t> depth_target;  // place -> blocks (or inserted layers) there at the end
  bool enabled() const { return times > 0; }
};

// Parses "STEP:SITE:+K", "STEP:PLACE:+Kblock" or "STEP:LAYER:+Klayer" (the '+' is optional). Throws ConfigError
// naming growth.event.
GrowthEvent parse_event(const std::string& text);
// Parses "fc1:256,fc2:128". Throws ConfigError naming growth.target.
std::map<std::string, int64_t> parse_targets(const std::string& text);

// Parses "stage2:3,stage3:2" (counts >= 0). Throws ConfigError naming growth.depth_target.
std::map<std::string, int64_t> parse_depth_targets(const std::string& text);

// The compact schedule's depth events, given the blocks at each place now (`start_blocks`:
// every place the model has) and the family's unit ("block" or "layer"). Throws
// ConfigError (an unknown place, a target below the blocks there now).
std::vector<GrowthEvent> expand_depth(const CompactSchedule& schedule, const std::map<std::string, int64_t>& start_blocks,
                                      const std::string& unit);

// Expands a compact schedule given the starting widths of the model's sites (in order).
// Throws ConfigError (unknown sites, a target below the start width, bad numbers).
std::vector<GrowthEvent> expand(const CompactSchedule& schedule,
                                const std::vector<std::pair<std::string, int64_t>>& start_widths);

// Checks sites (depth events: `depth_places`), steps (0 <= step < total_steps) and K > 0;
// sorts by step, stable.
std::vector<GrowthEvent> validate_events(std::vector<GrowthEvent> events, const std::vector<std::string>& sites,
                                         int64_t total_steps, const std::vector<std::string>& depth_places = {});

// Widths after every width event (depth events add blocks, not units: skipped).
std::map<std::string, int64_t> final_widths(const std::vector<GrowthEvent>& events,
                                            std::map<std::string, int64_t> start);

}  // namespace sprout::growth
