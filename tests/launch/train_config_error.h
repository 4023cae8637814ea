// The ConfigError message `sprout train` gives for a command line ("" when it is accepted):
// what the option tests compare against.
#pragma once

#include <string>
#include <vector>

#include "launch/cli/options.h"
#include "launch/train/train_config.h"
#include "runtime/error.h"

namespace sprout::testing {

inline std::string train_config_error(const std::vector<std::string>& args) {
  try {
    launch::read_train_config(launch::Options::parse(launch::train_option_table(), args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace sprout::testing
