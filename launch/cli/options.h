// Options: one table of named options per subcommand, filled from an INI config file
// (--config) and the command line. Dotted names map to INI sections: `--model.widths
// 256,256` is `[model] widths = 256,256`.
//
// Rules, the same for every subcommand:
//   - names are exact: an abbreviation or a misspelling is an unknown option (ConfigError
//     with a "did you mean" hint), on the command line and in the config file alike;
//   - a repeated option: the last one wins, and the command line wins over the config
//     file. Repeatable options (growth.event, experts) accumulate instead, the config
//     file's values first;
//   - a hidden option (a test hook) is accepted but not shown by --help.
//
// Options are declared once, bound to the typed fields they set (launch/cli/option_binder.h);
// values are kept here as text, as given, for the canonical text ranks compare and
// checkpoints store. Numbers, booleans and lists are converted by the one parser below,
// whose errors all read "--NAME: 'VALUE' is not ..." (main: one line, exit status 2).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/settings.h"

namespace sprout::launch {

struct OptionSpec {
  std::string name;           // "train.batch"
  std::string default_value;  // text; "" = no value
  std::string help;
  bool repeatable = false;    // may be given several times (values accumulate)
  bool hidden = false;        // accepted, but left out of --help (test hooks)
};

using OptionTable = std::vector<OptionSpec>;

class Options {
 public:
  // Parses argv (after the subcommand) against `table`. Throws ConfigError for unknown
  // options, missing values, unreadable or malformed config files. `--help` sets help().
  static Options parse(const OptionTable& table, const std::vector<std::string>& args);

  bool help() const { return help_; }
  bool has(const std::string& name) const;       // given by the user (not a default)
  std::string get(const std::string& name) const;  // the winning value or the default
  std::vector<std::string> get_all(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  std::vector<int64_t> get_int_list(const std::string& name) const;
  std::vector<double> get_double_list(const std::string& name) const;
  std::vector<std::string> get_string_list(const std::string& name) const;

  // Every option with its effective value, one "name = value" per line, sorted: the
  // canonical text that ranks compare and checkpoints store.
  std::string canonical_text() const;
  const std::string& config_path() const { return config_path_; }
  std::vector<std::string> positional() const { return positional_; }

  // Programmatic construction (tests, other subcommands).
  void set(const std::string& name, const std::string& value);
  static Options defaults(const OptionTable& table);

 private:
  const OptionSpec& spec(const std::string& name) const;
  std::map<std::string, OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;  // user-given values only
  std::vector<std::string> positional_;
  std::string config_path_;
  bool help_ = false;
};

// "Options:\n [train]\n  --train.batch (=64)  per-rank batch size\n..." for --help: each
// section once (in the order of its first option), hidden options left out.
std::string format_help(const OptionTable& table, const std::string& usage);

// " (did you mean --train.steps?)" for an unknown name: the known names it abbreviates,
// else the nearest by edit distance; "" when none is near. `dashes`: "--" or "".
std::string did_you_mean(const std::string& unknown, const OptionTable& table, const std::string& dashes);

// The positional arguments of `command` (e.g. "export"), which takes exactly `names` (e.g.
// {"CHECKPOINT", "OUT"}; none: {}). ConfigError otherwise, naming the command and what it needs.
std::vector<std::string> expect_arguments(const Options& options, const std::string& command,
                                          const std::vector<std::string>& names);

// The one number parser: the whole (trimmed) text must be the value, numbers finite.
// `s` without leading and trailing white space.
std::string trim(const std::string& s);

std::optional<int64_t> to_int(const std::string& text);
std::optional<double> to_number(const std::string& text);
std::optional<bool> to_bool(const std::string& text);  // true/false, 1/0, yes/no, on/off
// Comma-separated items, trimmed; nullopt when an item is empty. "" is the empty list.
std::optional<std::vector<std::string>> to_list(const std::string& text);

// Converters for option `name`: ConfigError "--NAME: 'TEXT' is not an integer" (a finite
// number, a boolean (true/false), a comma-separated list of integers / numbers).
int64_t parse_int(const std::string& name, const std::string& text);
double parse_number(const std::string& name, const std::string& text);
bool parse_bool(const std::string& name, const std::string& text);
std::vector<std::string> parse_list(const std::string& name, const std::string& text);
std::vector<int64_t> parse_int_list(const std::string& name, const std::string& text);
std::vector<double> parse_number_list(const std::string& name, const std::string& text);

// A runtime SettingError reworded with the option names `option_of` maps its fields to:
// "--runtime.backend: nccl ... needs --runtime.device cuda".
ConfigError option_error(const runtime::SettingError& e, const std::map<std::string, std::string>& option_of);

// Default texts: the shortest text that reads back as the same value ("0.05", "25").
std::string format_number(double v);

}  // namespace sprout::launch
