#include "launch/cli/options.h"

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
  EXPECT_EQ(c.model.widths, (std::vector<int64_t>{128, 64}));
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
  for (const auto& spec : train_option_table()) EXPECT_NE(text.find("--" + spec.name), std::string::npos);
}

TEST(TrainConfig, TotalStepsFromEpochs) {
  auto c = read_train_config(Options::parse(train_option_table(), {"--train.epochs", "2", "--train.batch", "100"}));
  EXPECT_EQ(c.total_steps(60000, 2), 600);
  c.train.steps = 17;
  EXPECT_EQ(c.total_steps(60000, 2), 17);
}

}  // namespace
}  // namespace sprout::launch
