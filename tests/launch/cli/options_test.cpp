#include "launch/cli/options.h"
#include "launch/cli/option_binder.h"

#include <gtest/gtest.h>

#include "launch/train/train_config.h"
#include "runtime/error.h"
#include "test_util.h"
#include "../train_config_error.h"

namespace sprout::launch {
namespace {

using sprout::testing::TempDir;
using sprout::testing::write_text;

std::string config_error(const std::vector<std::string>& args) { return sprout::testing::train_config_error(args); }

TEST(Options, CommandLineAndDefaults) {
  auto o = Options::parse(train_option_table(), {"--train.batch", "32", "--model.widths=128,64"});
  EXPECT_EQ(o.get_int("train.batch"), 32);
  EXPECT_EQ(o.get_int_list("model.widths"), (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(o.get("optim.name"), "sgd");
  EXPECT_TRUE(o.has("train.batch"));
  EXPECT_FALSE(o.has("optim.lr"));
  const auto c = read_train_config(o);
  EXPECT_EQ(c.train.batch, 32);
  EXPECT_EQ(c.model.ints("widths"), (std::vector<int64_t>{128, 64}));
}

TEST(Options, IniSectionsMapToDottedNamesAndCommandLineWins) {
  TempDir dir;
  write_text(dir.file("a.ini"), "# comment\n[model]\nwidths = 512,512\nkind = mlp\n[train]\nbatch = 16\nsteps = 7\n");
  auto o = Options::parse(train_option_table(), {"--config", dir.file("a.ini"), "--train.batch", "8"});
  EXPECT_EQ(o.get_int_list("model.widths"), (std::vector<int64_t>{512, 512}));
  EXPECT_EQ(o.get_int("train.batch"), 8);  // command line wins
  EXPECT_EQ(o.get_int("train.steps"), 7);
  EXPECT_EQ(o.config_path(), dir.file("a.ini"));
}

TEST(Options, BadInputNamesTheOptionAndValue) {
  TempDir dir;
  write_text(dir.file("unknown.ini"), "[model]\nwidth = 3\n");
  write_text(dir.file("empty.ini"), "  \n");
  struct Case {
    std::vector<std::string> args;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {{"--bogus", "1"}, "unknown option '--bogus'"},
      {{"--train.batch", "0"}, "--train.batch: 0 must be > 0"},
      {{"--train.batch", "abc"}, "--train.batch: 'abc' is not an integer"},
      {{"--train.batch", "12x"}, "'12x' is not an integer"},
      {{"--model.widths", "256,-4"}, "model.widths"},
      {{"--model.widths", "256,,4"}, "--model.widths"},
      {{"--optim.lr", "nan"}, "--optim.lr: 'nan' is not a finite number"},
      {{"--optim.name", "lion"}, "--optim.name: 'lion' is not an optimizer"},
      {{"--model.kind", "rnn"}, "model.kind: unknown model 'rnn'"},
      {{"--data.dir", "/nonexistent/dir"}, "--data.dir: '/nonexistent/dir' is not a directory"},
      {{"--data.name", "cifar"}, "--data.name: 'cifar' is not a dataset"},
      {{"--data.classes", "3,11"}, "--data.classes: 11 is not a class"},
      {{"--log.progress", "fancy"}, "--log.progress: 'fancy'"},
      {{"--model.batch_norm", "maybe"}, "--model.batch_norm: 'maybe' is not a boolean"},
      {{"--train.batch"}, "train.batch"},
      {{"--config", dir.file("missing.ini")}, "missing.ini' does not exist"},
      {{"--config", dir.file("unknown.ini")}, "model.width"},
      {{"--config", dir.file("empty.ini")}, "is empty"},
  };
  for (const auto& c : cases) {
    const std::string msg = config_error(c.args);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "args " << c.args[0] << " -> '" << msg << "'";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
  }
}

TEST(Options, RepeatableOptionsAccumulate) {
  OptionTable table = {{"growth.event", "", "event", true}, {"a.b", "1", "x"}};
  TempDir dir;
  write_text(dir.file("g.ini"), "[growth]\nevent = 10:fc1:+4\nevent = 20:fc2:+4\n");
  auto o = Options::parse(table, {"--config", dir.file("g.ini"), "--growth.event", "30:fc1:+2"});
  EXPECT_EQ(o.get_all("growth.event"), (std::vector<std::string>{"10:fc1:+4", "20:fc2:+4", "30:fc1:+2"}));
}

TEST(Options, CanonicalTextIsCompleteAndStable) {
  auto a = Options::parse(train_option_table(), {"--train.batch", "32"});
  auto b = Options::parse(train_option_table(), {"--train.batch=32"});
  EXPECT_EQ(a.canonical_text(), b.canonical_text());
  EXPECT_NE(a.canonical_text().find("train.batch = 32\n"), std::string::npos);
  EXPECT_NE(a.canonical_text().find("optim.lr = 0.05\n"), std::string::npos);
  auto c = Options::parse(train_option_table(), {"--train.batch", "33"});
  EXPECT_NE(a.canonical_text(), c.canonical_text());
}

TEST(Options, HelpListsEveryOption) {
  auto o = Options::parse(train_option_table(), {"--help"});
  EXPECT_TRUE(o.help());
  const auto text = format_help(train_option_table(), "usage");
  for (const auto& spec : train_option_table()) {
    if (!spec.hidden) EXPECT_NE(text.find("--" + spec.name), std::string::npos) << spec.name;
  }
}

// Names are exact: an abbreviation or a misspelling is an unknown option with a hint, on
// the command line and in a config file alike (Boost would otherwise guess the option).
TEST(Options, AbbreviationsAndMisspellingsAreUnknownWithAHint) {
  TempDir dir;
  write_text(dir.file("step.ini"), "[train]\nstep = 5\n");
  write_text(dir.file("trian.ini"), "[trian]\nsteps = 5\n");
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"--train.step", "50"}, "unknown option '--train.step' (did you mean --train.steps?)"},
      {{"--train.step=50"}, "unknown option '--train.step' (did you mean --train.steps?)"},
      {{"--optim.l", "0.1"}, "unknown option '--optim.l' (did you mean --optim.lr?)"},
      {{"--optim.lrr", "0.1"}, "unknown option '--optim.lrr' (did you mean --optim.lr?)"},
      {{"--trian.steps", "5"}, "unknown option '--trian.steps' (did you mean --train.steps?)"},
      {{"--model.widht", "5"}, "unknown option '--model.widht' (did you mean --model.widen or --model.widths?)"},
      {{"--config", dir.file("step.ini")},
       "config file '" + dir.file("step.ini") + "': unknown option 'train.step' (did you mean train.steps?)"},
      {{"--config", dir.file("trian.ini")},
       "config file '" + dir.file("trian.ini") + "': unknown option 'trian.steps' (did you mean train.steps?)"},
      {{"--zzzz", "1"}, "unknown option '--zzzz' (see --help)"},
  };
  for (const auto& c : cases) EXPECT_EQ(config_error(c.args), c.expect) << c.args[0];
  // Several names share the abbreviation: all are offered (at most three).
  EXPECT_EQ(config_error({"--train.e", "1"}),
            "unknown option '--train.e' (did you mean --train.epochs or --train.eval_every?)");
}

TEST(Options, ARepeatedOptionTheLastOneWins) {
  TempDir dir;
  write_text(dir.file("twice.ini"), "[train]\nbatch = 16\nbatch = 24\nsteps = 3\n");
  auto o = Options::parse(train_option_table(), {"--train.batch", "8", "--train.batch=32", "--checkpoint.dir", "a",
                                                 "--checkpoint.dir", "b"});
  EXPECT_EQ(o.get_int("train.batch"), 32);
  EXPECT_EQ(read_train_config(o).checkpoint.dir, "b");
  auto f = Options::parse(train_option_table(), {"--config", dir.file("twice.ini")});
  EXPECT_EQ(f.get_int("train.batch"), 24);  // the last in the file
  auto both = Options::parse(train_option_table(),
                             {"--train.steps", "9", "--config", dir.file("twice.ini"), "--train.steps", "11"});
  EXPECT_EQ(both.get_int("train.steps"), 11);  // the command line over the file, the last of it
  EXPECT_EQ(both.get_int("train.batch"), 24);
  EXPECT_NE(both.canonical_text().find("train.steps = 11\n"), std::string::npos);
}

TEST(Options, HelpShowsEachSectionOnceAndNoTestOnlyOption) {
  const auto table = train_option_table();
  const auto text = format_help(table, "usage");
  for (const char* section : {"[data]", "[model]", "[optim]", "[train]", "[runtime]", "[growth]", "[checkpoint]",
                              "[slim]", "[adaptive]", "[init]", "[log]"}) {
    const auto first = text.find(section);
    ASSERT_NE(first, std::string::npos) << section;
    EXPECT_EQ(text.find(section, first + 1), std::string::npos) << section << " appears twice";
  }
  EXPECT_EQ(text.find("test.step_sleep_ms"), std::string::npos);
  EXPECT_EQ(text.find("TEST ONLY"), std::string::npos);
  // Hidden, not refused.
  EXPECT_EQ(read_train_config(Options::parse(table, {"--test.step_sleep_ms", "5"})).test_step_sleep_ms, 5);
}

// The help shows the very defaults the program runs with: read back from the table's
// default texts, every option gives the struct's initial value (train.epochs once said 1
// in the help and 0 in the struct).
TEST(Options, DefaultsInHelpAreTheStructDefaults) {
  const TrainConfig fresh;
  const auto table = train_option_table();
  const TrainConfig read = read_train_config(Options::defaults(table));
  EXPECT_EQ(read.train.epochs, fresh.train.epochs);
  EXPECT_EQ(read.train.batch, fresh.train.batch);
  EXPECT_EQ(read.model, growth::complete(fresh.model));  // the family's defaults (growth/models/family.h)
  EXPECT_EQ(read.schedule.name, fresh.schedule.name);
  EXPECT_EQ(read.optim.lr, fresh.optim.lr);
  EXPECT_EQ(read.runtime.timeout_s, fresh.runtime.timeout_s);
  EXPECT_EQ(read.checkpoint.keep, fresh.checkpoint.keep);
  EXPECT_EQ(read.growth.options.scale, fresh.growth.options.scale);
  EXPECT_EQ(read.slim.spec.ratios, fresh.slim.spec.ratios);
  EXPECT_EQ(read.adaptive.spec.rate_floor, fresh.adaptive.spec.rate_floor);
  EXPECT_EQ(read.slim.enabled, fresh.slim.enabled);
  // Every option: default text -> field -> text is a fixed point, and each text is what
  // --help prints.
  TrainConfig again = load_bound(Options::defaults(table), bind_train_options);  // not validated
  OptionBinder b;
  bind_train_options(b, again);
  ASSERT_EQ(b.table().size(), table.size());
  const auto help = format_help(table, "usage");
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(b.table()[i].default_value, table[i].default_value) << table[i].name;
    if (!table[i].hidden && !table[i].default_value.empty()) {
      EXPECT_NE(help.find("--" + table[i].name + " (=" + table[i].default_value + ")"), std::string::npos)
          << table[i].name;
    }
  }
  EXPECT_NE(help.find("--train.epochs (=1)"), std::string::npos);
  EXPECT_NE(help.find("--optim.lr (=0.05)"), std::string::npos);
  EXPECT_NE(help.find("--slim.ratios (=0.25,0.5,0.75,1)"), std::string::npos);
}

TEST(Options, OneNumberParserOneErrorFormat) {
  EXPECT_EQ(to_int(" 42 "), 42);
  EXPECT_FALSE(to_int("4.2"));
  EXPECT_FALSE(to_int("99999999999999999999"));
  EXPECT_EQ(to_number("1e-3"), 1e-3);
  EXPECT_FALSE(to_number("inf"));
  EXPECT_FALSE(to_number("1e999"));
  EXPECT_EQ(format_number(0.05), "0.05");
  EXPECT_EQ(format_number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_number(25), "25");
  EXPECT_EQ(parse_int_list("model.widths", "64, 64"), (std::vector<int64_t>{64, 64}));
  EXPECT_TRUE(parse_int_list("data.classes", "").empty());
  auto error = [](auto f) -> std::string {
    try {
      f();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error([] { parse_int("train.batch", "1e3"); }), "--train.batch: '1e3' is not an integer");
  EXPECT_EQ(error([] { parse_number("optim.lr", "fast"); }), "--optim.lr: 'fast' is not a finite number");
  EXPECT_EQ(error([] { parse_number_list("slim.ratios", "0.5,x"); }),
            "--slim.ratios: '0.5,x' is not a comma-separated list of numbers");
  EXPECT_EQ(error([] { parse_int_list("model.widths", "64,,64"); }), "--model.widths: '64,,64' has an empty list item");
  EXPECT_EQ(config_error({"--runtime.threads", "99999999999"}), "--runtime.threads: 99999999999 is out of range");
  EXPECT_EQ(config_error({"--train.seed", "-1"}), "--train.seed: -1 must be >= 0");
}

TEST(TrainConfig, TotalStepsFromEpochs) {
  auto c = read_train_config(Options::parse(train_option_table(), {"--train.epochs", "2", "--train.batch", "100"}));
  EXPECT_EQ(c.total_steps(60000, 2), 600);
  c.train.steps = 17;
  EXPECT_EQ(c.total_steps(60000, 2), 17);
}

}  // namespace
}  // namespace sprout::launch
