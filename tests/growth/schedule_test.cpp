// Growth schedules: parsing, the compact form, validation with one clear message.
#include "growth/schedule.h"

#include <gtest/gtest.h>

#include "runtime/error.h"
#include "test_util.h"

namespace sprout::growth {
namespace {

using sprout::testing::error_of;

TEST(Schedule, ParsesEvents) {
  auto e = parse_event("600:fc1:+64");
  EXPECT_EQ(e.step, 600);
  EXPECT_EQ(e.site, "fc1");
  EXPECT_EQ(e.add, 64);
  EXPECT_EQ(parse_event(" 5 : conv2 : 3 ").add, 3);
  EXPECT_EQ(error_of([] { parse_event("600:fc1:+0"); }), "--growth.event: '600:fc1:+0': K must be > 0, got 0");
  EXPECT_NE(error_of([] { parse_event("600:fc1:-3"); }).find("K must be > 0"), std::string::npos);
  EXPECT_NE(error_of([] { parse_event("600:fc1"); }).find("is not STEP:SITE:+K"), std::string::npos);
  EXPECT_NE(error_of([] { parse_event("6x:fc1:+1"); }).find("step is not an integer"), std::string::npos);
  EXPECT_NE(error_of([] { parse_event("1:fc1:+1:2"); }).find("is not STEP:SITE:+K"), std::string::npos);
}

TEST(Schedule, ValidatesSitesStepsAndSortsStably) {
  std::vector<GrowthEvent> ev{parse_event("20:fc2:+1"), parse_event("10:fc1:+2"), parse_event("20:fc1:+3")};
  auto v = validate_events(ev, {"fc1", "fc2"}, 100);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].text, "10:fc1:+2");
  EXPECT_EQ(v[1].text, "20:fc2:+1");  // config order within a step
  EXPECT_EQ(v[2].text, "20:fc1:+3");
  EXPECT_EQ(error_of([&] { validate_events({parse_event("5:fc9:+1")}, {"fc1", "fc2"}, 100); }),
            "--growth.event: '5:fc9:+1': unknown width site 'fc9' (this model has: fc1, fc2)");
  EXPECT_EQ(error_of([&] { validate_events({parse_event("100:fc1:+1")}, {"fc1"}, 100); }),
            "--growth.event: '100:fc1:+1': step 100 is beyond the run (100 steps: 0..99)");
  EXPECT_EQ(final_widths(v, {{"fc1", 8}, {"fc2", 4}}), (std::map<std::string, int64_t>{{"fc1", 13}, {"fc2", 5}}));
}

TEST(Schedule, CompactFormReachesTheTargetInEqualShares) {
  CompactSchedule s;
  s.start = 100;
  s.every = 50;
  s.times = 4;
  s.target = parse_targets("fc1:30, fc2:8");
  auto ev = expand(s, {{"fc1", 16}, {"fc2", 8}, {"fc3", 4}});
  ASSERT_EQ(ev.size(), 4u);  // fc2 is at its target already; fc3 is not named
  EXPECT_EQ(ev[0].step, 100);
  EXPECT_EQ(ev[3].step, 250);
  EXPECT_EQ(ev[0].add, 4);  // 14 = 4 + 4 + 3 + 3: the earliest events take the remainder
  EXPECT_EQ(ev[1].add, 4);
  EXPECT_EQ(ev[2].add, 3);
  EXPECT_EQ(ev[3].add, 3);
  EXPECT_EQ(final_widths(ev, {{"fc1", 16}})["fc1"], 30);
  EXPECT_EQ(ev[0].text, "100:fc1:+4");
}

TEST(Schedule, CompactFormWithFractionLikeThePaper) {
  CompactSchedule s;
  s.start = 10;
  s.every = 5;
  s.times = 12;
  s.fraction = 0.25;
  auto ev = expand(s, {{"conv1", 8}, {"fc1", 64}});
  EXPECT_EQ(final_widths(ev, {{"conv1", 8}, {"fc1", 64}}),
            (std::map<std::string, int64_t>{{"conv1", 32}, {"fc1", 256}}));  // 0.25x -> 1x
  s.sites = {"fc1"};
  EXPECT_EQ(expand(s, {{"conv1", 8}, {"fc1", 64}}).size(), 12u);
}

TEST(Schedule, CompactFormErrorsNameTheOption) {
  CompactSchedule s;
  s.every = 5;
  s.times = 2;
  s.target = {{"fc7", 10}};
  EXPECT_NE(error_of([&] { expand(s, {{"fc1", 8}}); }).find("--growth.target: unknown width site 'fc7'"),
            std::string::npos);
  s.target = {{"fc1", 4}};
  EXPECT_NE(error_of([&] { expand(s, {{"fc1", 8}}); }).find("is below the starting width 8"), std::string::npos);
  EXPECT_NE(error_of([] { parse_targets("fc1=3"); }).find("--growth.target"), std::string::npos);
  s.target.clear();
  EXPECT_NE(error_of([&] { expand(s, {{"fc1", 8}}); }).find("exactly one of"), std::string::npos);
}

TEST(Schedule, CompactFormSpreadsBlocksLikeWidths) {
  CompactSchedule s;
  s.start = 10;
  s.every = 5;
  s.times = 3;
  s.depth_target = parse_depth_targets("stage2:5, stage3:2");
  // stage2: 1 -> 5 (4 blocks over 3 events: the earliest one more), stage3: 2 -> 2 (none).
  const auto events = expand_depth(s, {{"stage1", 1}, {"stage2", 1}, {"stage3", 2}}, "block");
  std::vector<std::string> texts;
  for (const auto& e : events) {
    EXPECT_TRUE(e.depth);
    EXPECT_EQ(e.unit, "block");
    texts.push_back(e.text);
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"10:stage2:+2block", "15:stage2:+1block", "20:stage2:+1block"}));
  // The text of a generated event reads back as the same event.
  const auto again = parse_event(events.front().text);
  EXPECT_TRUE(again.depth && again.add == 2 && again.site == "stage2");
  // Depth alone is a compact schedule; width targets are optional beside it.
  EXPECT_TRUE(expand(s, {{"stage2", 8}}).empty());
  s.depth_target = {{"fc2", 1}};
  EXPECT_EQ(expand_depth(s, {{"fc1", 0}, {"fc2", 0}}, "layer").front().text, "10:fc2:+1layer");
  // Errors: one line naming the option and the value.
  s.depth_target = {{"stage2", 0}};
  EXPECT_EQ(error_of([&] { expand_depth(s, {{"stage2", 1}}, "block"); }),
            "--growth.depth_target: stage2:0 is below the 1 blocks there now (depth growth only adds)");
  s.depth_target = {{"stage9", 3}};
  EXPECT_EQ(error_of([&] { expand_depth(s, {{"stage1", 1}, {"stage2", 1}}, "block"); }),
            "--growth.depth_target: no place 'stage9' to add blocks at (this model has: stage1, stage2)");
  EXPECT_NE(error_of([] { parse_depth_targets("stage2=3"); }).find("is not a list of PLACE:COUNT"), std::string::npos);
  EXPECT_NE(error_of([] { parse_depth_targets("stage2:-1"); }).find("the count must be >= 0"), std::string::npos);
}

}  // namespace
}  // namespace sprout::growth
