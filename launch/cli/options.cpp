#include "launch/cli/options.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "runtime/error.h"
#include "runtime/regular_file.h"

namespace po = boost::program_options;

namespace sprout::launch {

namespace {

// Boost's default style without allow_guessing: `--train.step` must not run as --train.steps.
constexpr int kCommandLineStyle = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

po::options_description describe(const OptionTable& table) {
  po::options_description desc;
  for (const auto& o : table) desc.add_options()(o.name.c_str(), po::value<std::string>(), o.help.c_str());
  return desc;
}

using Given = std::map<std::string, std::vector<std::string>>;  // name -> values in the order given

// The text of the config file at `path`; ConfigError if it cannot be read or is blank.
std::string read_config_text(const std::string& path) {
  // A regular file, read with a cap: a FIFO, a device or a directory is refused at once.
  std::string text = runtime::read_regular_file(path, runtime::kConfigFileMaxBytes, "--config");
  SPROUT_CHECK(!trim(text).empty(), ConfigError, "--config: config file '", path, "' is empty");
  return text;
}

// The values of an INI config file ([section] key = value is option section.key), exact
// names only: an unknown key gets the same hint as on the command line.
Given read_config_file(const std::string& path, const OptionTable& table) {
  std::istringstream text(read_config_text(path));
  po::parsed_options parsed(nullptr);
  try {
    parsed = po::parse_config_file(text, describe(table), /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    throw ConfigError(concat("config file '", path, "': ", e.what()));
  }
  Given out;
  for (const auto& opt : parsed.options) {
    SPROUT_CHECK(!opt.unregistered, ConfigError, "config file '", path, "': unknown option '", opt.string_key, "'",
                 did_you_mean(opt.string_key, table, ""));
    out[opt.string_key].push_back(opt.value.empty() ? "" : opt.value.front());
  }
  return out;
}

// "unknown option '--train.step' (did you mean --train.steps?)".
std::string unknown_option(const po::option& opt, const OptionTable& table) {
  std::string token = opt.original_tokens.empty() ? opt.string_key : opt.original_tokens.front();
  token = token.substr(0, token.find('='));
  const std::string name = token.substr(std::min(token.size(), token.find_first_not_of('-')));
  const std::string hint = did_you_mean(name, table, "--");
  return concat("unknown option '", token, "'", hint.empty() ? " (see --help)" : hint);
}

}  // namespace

Options Options::defaults(const OptionTable& table) {
  Options out;
  for (const auto& o : table) out.specs_[o.name] = o;
  return out;
}

Options Options::parse(const OptionTable& table, const std::vector<std::string>& args) {
  Options out = defaults(table);
  po::options_description desc = describe(table);
  desc.add_options()("config", po::value<std::string>(), "INI config file")("help,h", "show this help");
  desc.add_options()("positional", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("positional", -1);
  po::parsed_options parsed(nullptr);
  try {
    parsed = po::command_line_parser(args).options(desc).positional(pos).style(kCommandLineStyle)
                 .allow_unregistered().run();
  } catch (const po::error& e) {
    throw ConfigError(concat("command line: ", e.what()));
  }
  // Walked in order rather than stored (po::store refuses a repeated option): the last
  // value of an option is the one that counts.
  Given cli;
  for (const auto& opt : parsed.options) {
    SPROUT_CHECK(!opt.unregistered, ConfigError, unknown_option(opt, table));
    const std::string value = opt.value.empty() ? "" : opt.value.front();
    if (opt.position_key >= 0 || opt.string_key == "positional") out.positional_.push_back(value);
    else if (opt.string_key == "help") out.help_ = true;
    else if (opt.string_key == "config") out.config_path_ = value;
    else cli[opt.string_key].push_back(value);
  }
  const Given file = out.config_path_.empty() ? Given{} : read_config_file(out.config_path_, table);
  for (const auto& o : table) {
    auto& slot = out.values_[o.name];
    for (const Given* source : {&file, static_cast<const Given*>(&cli)}) {  // file first: the command line wins
      auto it = source->find(o.name);
      if (it == source->end()) continue;
      if (o.repeatable) slot.insert(slot.end(), it->second.begin(), it->second.end());
      else slot = {it->second.back()};
    }
  }
  return out;
}

const OptionSpec& Options::spec(const std::string& name) const {
  auto it = specs_.find(name);
  SPROUT_CHECK(it != specs_.end(), Error, "internal: option '", name, "' is not declared");
  return it->second;
}

bool Options::has(const std::string& name) const {
  spec(name);
  auto it = values_.find(name);
  return it != values_.end() && !it->second.empty();
}

void Options::set(const std::string& name, const std::string& value) {
  spec(name);
  values_[name] = {value};
}

std::string Options::get(const std::string& name) const {
  const auto& s = spec(name);
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return s.default_value;
  return trim(it->second.back());
}

std::vector<std::string> Options::get_all(const std::string& name) const {
  const auto& s = spec(name);
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) {
    if (s.default_value.empty()) return {};
    return {s.default_value};
  }
  std::vector<std::string> out;
  for (const auto& v : it->second) out.push_back(trim(v));
  return out;
}

int64_t Options::get_int(const std::string& name) const { return parse_int(name, get(name)); }
double Options::get_double(const std::string& name) const { return parse_number(name, get(name)); }
bool Options::get_bool(const std::string& name) const { return parse_bool(name, get(name)); }
std::vector<std::string> Options::get_string_list(const std::string& name) const { return parse_list(name, get(name)); }
std::vector<int64_t> Options::get_int_list(const std::string& name) const { return parse_int_list(name, get(name)); }
std::vector<double> Options::get_double_list(const std::string& name) const {
  return parse_number_list(name, get(name));
}

std::string Options::canonical_text() const {
  std::ostringstream os;
  for (const auto& [name, s] : specs_) {
    if (s.repeatable) {
      for (const auto& v : get_all(name)) os << name << " = " << v << "\n";
    } else {
      os << name << " = " << get(name) << "\n";
    }
  }
  return os.str();
}

std::string format_help(const OptionTable& table, const std::string& usage) {
  std::ostringstream os;
  os << usage << "\n\nOptions (command line or INI file: [section] key = value; names are exact;\n"
     << "a repeated option: the last one wins, the command line over the file):\n";
  os << "  --config FILE                  INI config file (the command line wins)\n";
  os << "  --help                         show this help\n";
  std::vector<std::string> sections;  // in the order of their first option
  for (const auto& o : table) {
    const std::string sec = o.name.find('.') == std::string::npos ? "" : o.name.substr(0, o.name.find('.'));
    if (std::find(sections.begin(), sections.end(), sec) == sections.end()) sections.push_back(sec);
  }
  for (const auto& section : sections) {
    bool heading = false;
    for (const auto& o : table) {
      const std::string sec = o.name.find('.') == std::string::npos ? "" : o.name.substr(0, o.name.find('.'));
      if (sec != section || o.hidden) continue;
      if (!heading && !section.empty()) os << "\n [" << section << "]\n";
      if (!heading && section.empty()) os << "\n";
      heading = true;
      std::string left = "  --" + o.name + (o.default_value.empty() ? "" : " (=" + o.default_value + ")");
      if (left.size() < 32) left.resize(32, ' ');
      else left += "\n" + std::string(32, ' ');
      os << left << " " << o.help << (o.repeatable ? " (repeatable)" : "") << "\n";
    }
  }
  return os.str();
}

std::vector<std::string> expect_arguments(const Options& options, const std::string& command,
                                          const std::vector<std::string>& names) {
  const auto positional = options.positional();
  if (names.empty()) {
    SPROUT_CHECK(positional.empty(), ConfigError, command, ": unexpected argument '", positional.front(), "'");
  } else {
    std::string needs;
    for (size_t i = 0; i < names.size(); ++i) needs += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    SPROUT_CHECK(positional.size() == names.size(), ConfigError, command, ": needs ", needs, " (got ",
                 positional.size(), " arguments; see sprout ", command, " --help)");
  }
  return positional;
}

}  // namespace sprout::launch
