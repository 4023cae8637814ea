// Options: one table of named options per subcommand, filled from an INI config file
// (--config) and the command line, the command line winning. Dotted names map to INI
// sections: `--model.widths 256,256` is `[model] widths = 256,256`.
//
// Every value is kept as text and converted by the typed getters, which throw ConfigError
// naming the option and the offending value; main turns that into one line and exit 2.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sprout::launch {

struct OptionSpec {
  std::string name;           // "train.batch"
  std::string default_value;  // text; "" = no value
  std::string help;
  bool repeatable = false;    // may be given several times (values accumulate)
};

using OptionTable = std::vector<OptionSpec>;

class Options {
 public:
  // Parses argv (after the subcommand) against `table`. Throws ConfigError for unknown
  // options, missing values, unreadable or malformed config files. `--help` sets help().
  static Options parse(const OptionTable& table, const std::vector<std::string>& args);

  bool help() const { return help_; }
  bool has(const std::string& name) const;       // given by the user (not a default)
  std::string get(const std::string& name) const;  // last value or the default
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

// "Options:\n  --train.batch arg (=64)  per-rank batch size\n..." for --help.
std::string format_help(const OptionTable& table, const std::string& usage);

}  // namespace sprout::launch
