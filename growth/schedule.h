// Growth schedules: which site grows by how many units before which step.
//
// Two forms (launch/growth/options.cpp reads them from the command line / INI file):
//  - events: "STEP:SITE:+K", e.g. "600:fc1:+64" — before the update of step 600 (after 600
//    optimizer steps), site fc1 gains 64 units. Repeatable; events of one step run in the
//    order given.
//  - depth events: "STEP:PLACE:+Kblock" (or +Kblocks), e.g. "600:stage2:+1block" — before
//    the update of step 600, K blocks are added at PLACE (a ResNet's stage1..stage3, a ViT's
//    "blocks"; growth/depth.h). Width and depth events of one step run in the order given.
//  - compact (the GradMax paper's schedule): growth at steps start, start+every, …,
//    start+(times−1)·every; at each, every growing site gains an equal share of the way from
//    its starting width (the model.* options) to its target. The target is either
//    given per site (growth.target "fc1:256,fc2:256") or, with growth.fraction f, every
//    site in growth.sites (default all) grows by round(f·start width) per event (the
//    paper: f = 0.25 of the initial width, 12 times: 0.25× -> 1×). When the total is not
//    a multiple of `times`, the earliest events add one more.
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
  bool depth = false;  // "+Kblock": `add` blocks at the place `site` (growth/depth.h)
  std::string text;  // as written by the user or generated ("600:fc1:+64")
};

struct CompactSchedule {
  int64_t start = 0, every = 0, times = 0;
  std::map<std::string, int64_t> target;  // site -> final width (exclusive with fraction)
  double fraction = 0;                     // per-event addition relative to the start width
  std::vector<std::string> sites;          // with fraction: sites that grow (empty: all)
  bool enabled() const { return times > 0; }
};

// Parses "STEP:SITE:+K" or "STEP:PLACE:+Kblock" (the '+' is optional). Throws ConfigError
// naming growth.event.
GrowthEvent parse_event(const std::string& text);
// Parses "fc1:256,fc2:128". Throws ConfigError naming growth.target.
std::map<std::string, int64_t> parse_targets(const std::string& text);

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
