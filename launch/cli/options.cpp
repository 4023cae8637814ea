#include "launch/cli/options.h"

#include <boost/program_options.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "runtime/error.h"
#include "runtime/regular_file.h"

namespace po = boost::program_options;

namespace sprout::launch {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

po::options_description describe(const OptionTable& table) {
  po::options_description desc;
  for (const auto& o : table) {
    if (o.repeatable) desc.add_options()(o.name.c_str(), po::value<std::vector<std::string>>()->composing(), o.help.c_str());
    else desc.add_options()(o.name.c_str(), po::value<std::string>(), o.help.c_str());
  }
  return desc;
}

void collect(const po::variables_map& vm, const OptionTable& table,
             std::map<std::string, std::vector<std::string>>& values) {
  for (const auto& o : table) {
    if (!vm.count(o.name)) continue;
    if (o.repeatable) values[o.name] = vm[o.name].as<std::vector<std::string>>();
    else values[o.name] = {vm[o.name].as<std::string>()};
  }
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

  po::options_description all = desc;
  all.add_options()("positional", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("positional", -1);
  po::variables_map cli;
  try {
    auto parsed = po::command_line_parser(args).options(all).positional(pos).allow_unregistered().run();
    for (const auto& opt : parsed.options) {
      if (opt.unregistered) {
        throw ConfigError(concat("unknown option '", opt.original_tokens.empty() ? opt.string_key : opt.original_tokens[0],
                              "' (see --help)"));
      }
    }
    po::store(parsed, cli);
  } catch (const po::error& e) {
    throw ConfigError(concat("command line: ", e.what()));
  }
  if (cli.count("positional")) out.positional_ = cli["positional"].as<std::vector<std::string>>();
  if (cli.count("help")) out.help_ = true;
  // Command line first: po::store keeps the first value stored, so it wins over the file.
  collect(cli, table, out.values_);

  if (cli.count("config")) {
    out.config_path_ = cli["config"].as<std::string>();
    std::stringstream text(runtime::read_regular_file(out.config_path_, runtime::kConfigFileMaxBytes, "--config"));
    SPROUT_CHECK(!trim(text.str()).empty(), ConfigError, "--config: config file '", out.config_path_, "' is empty");
    po::variables_map file;
    try {
      po::store(po::parse_config_file(text, describe(table), false), file);
    } catch (const po::error& e) {
      throw ConfigError(concat("config file '", out.config_path_, "': ", e.what()));
    }
    std::map<std::string, std::vector<std::string>> from_file;
    collect(file, table, from_file);
    for (auto& [name, v] : from_file) {
      auto& slot = out.values_[name];
      if (slot.empty()) slot = v;
      else if (out.spec(name).repeatable) slot.insert(slot.begin(), v.begin(), v.end());
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

int64_t Options::get_int(const std::string& name) const {
  const std::string v = get(name);
  size_t used = 0;
  int64_t out = 0;
  try {
    out = std::stoll(v, &used);
  } catch (...) {
    used = 0;
  }
  SPROUT_CHECK(!v.empty() && used == v.size(), ConfigError, "--", name, ": '", v, "' is not an integer");
  return out;
}

double Options::get_double(const std::string& name) const {
  const std::string v = get(name);
  size_t used = 0;
  double out = 0;
  try {
    out = std::stod(v, &used);
  } catch (...) {
    used = 0;
  }
  SPROUT_CHECK(!v.empty() && used == v.size() && std::isfinite(out), ConfigError, "--", name, ": '", v,
               "' is not a finite number");
  return out;
}

bool Options::get_bool(const std::string& name) const {
  const std::string v = get(name);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw ConfigError(concat("--", name, ": '", v, "' is not a boolean (true/false)"));
}

std::vector<std::string> Options::get_string_list(const std::string& name) const {
  std::vector<std::string> out;
  std::stringstream ss(get(name));
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    SPROUT_CHECK(!item.empty(), ConfigError, "--", name, ": '", get(name), "' has an empty list item");
    out.push_back(item);
  }
  return out;
}

std::vector<int64_t> Options::get_int_list(const std::string& name) const {
  std::vector<int64_t> out;
  for (const auto& item : get_string_list(name)) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    SPROUT_CHECK(used == item.size(), ConfigError, "--", name, ": '", get(name),
                 "' is not a comma-separated list of integers");
    out.push_back(v);
  }
  return out;
}

std::vector<double> Options::get_double_list(const std::string& name) const {
  std::vector<double> out;
  for (const auto& item : get_string_list(name)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (...) {
      used = 0;
    }
    SPROUT_CHECK(used == item.size() && std::isfinite(v), ConfigError, "--", name, ": '", get(name),
                 "' is not a comma-separated list of numbers");
    out.push_back(v);
  }
  return out;
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
  os << usage << "\n\nOptions (command line or INI file: [section] key = value):\n";
  os << "  --config FILE                  INI config file (the command line wins)\n";
  os << "  --help                         show this help\n";
  std::string section;
  for (const auto& o : table) {
    const std::string sec = o.name.substr(0, o.name.find('.'));
    if (sec != section) {
      section = sec;
      os << "\n [" << section << "]\n";
    }
    std::string left = "  --" + o.name + (o.default_value.empty() ? "" : " (=" + o.default_value + ")");
    if (left.size() < 32) left.resize(32, ' ');
    else left += "\n" + std::string(32, ' ');
    os << left << " " << o.help << (o.repeatable ? " (repeatable)" : "") << "\n";
  }
  return os.str();
}

}  // namespace sprout::launch
