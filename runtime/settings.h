// SettingSink: where a component declares the settings it alone reads, each bound to the
// typed field it sets, without knowing where the values come from. A growth strategy or a
// merge method declares its own (growth/strategies/strategy.h, merge/method.h); launch binds
// them to command-line and config-file options (launch/cli/option_binder.h), choosing the
// option names: the key here is only the last part ("density" becomes "ties.density").
//
// The field's value when declared is the setting's default.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/error.h"

namespace sprout::runtime {

class SettingSink {
 public:
  virtual ~SettingSink() = default;
  virtual void add(const std::string& key, bool* field, const std::string& help) = 0;
  virtual void add(const std::string& key, int64_t* field, const std::string& help) = 0;
  virtual void add(const std::string& key, double* field, const std::string& help) = 0;
  virtual void add(const std::string& key, std::string* field, const std::string& help) = 0;
};

// A ConfigError about one setting of a plain struct (DeviceRequest::backend): `setting` is
// the field's name, `detail` the rest, where "{name}" mentions another setting. what()
// reads "backend: nccl ... needs device cuda"; launch rewords it with the option names it
// maps the fields to ("--runtime.backend: ... needs --runtime.device cuda"), so runtime
// never spells a command-line option.
class SettingError : public ConfigError {
 public:
  SettingError(const std::string& setting, const std::string& detail)
      : ConfigError(setting + ": " + spelled(detail, [](const std::string& name) { return name; })),
        setting_(setting),
        detail_(detail) {}
  const std::string& setting() const { return setting_; }
  const std::string& detail() const { return detail_; }

  // `detail` with every "{name}" replaced by name_of(name).
  template <typename NameOf>
  static std::string spelled(const std::string& detail, NameOf name_of) {
    std::string out;
    for (size_t i = 0; i < detail.size(); ++i) {
      const size_t close = detail[i] == '{' ? detail.find('}', i) : std::string::npos;
      if (close == std::string::npos) {
        out += detail[i];
        continue;
      }
      out += name_of(detail.substr(i + 1, close - i - 1));
      i = close;
    }
    return out;
  }

 private:
  std::string setting_, detail_;
};

}  // namespace sprout::runtime
