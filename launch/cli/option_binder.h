// OptionBinder: every option declared once, bound to the typed field it sets. The field's
// value when declared is the option's default, so --help shows the very default the
// program uses (there is no second copy of it to drift). Typical use:
//
//   CheckpointConfig c;               // defaults: the struct's initialisers
//   OptionBinder b;
//   bind_checkpoint_options(b, c);    // b.add("checkpoint.every", &c.every, "help")...
//   b.table();                        // names, default texts, help (parsing, --help)
//   b.load(options);                  // every field from the given value or the default
//
// load() converts with the one parser of launch/cli/options.h (errors name the option and
// the value); range and consistency checks stay with each config's validation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "launch/cli/options.h"
#include "runtime/settings.h"

namespace sprout::launch {

class OptionBinder : public runtime::SettingSink {
 public:
  // Reads an option's values (the winning one, or all of a repeatable option's, in order).
  using Reader = std::function<void(const std::vector<std::string>& values)>;

  void add(const std::string& name, bool* field, const std::string& help) override;
  void add(const std::string& name, int64_t* field, const std::string& help) override;
  void add(const std::string& name, double* field, const std::string& help) override;
  void add(const std::string& name, std::string* field, const std::string& help) override;
  void add(const std::string& name, int* field, const std::string& help);
  void add(const std::string& name, uint64_t* field, const std::string& help);  // refuses negatives
  void add(const std::string& name, std::vector<int64_t>* field, const std::string& help);
  void add(const std::string& name, std::vector<double>* field, const std::string& help);
  void add(const std::string& name, std::vector<std::string>* field, const std::string& help);
  void add(const std::string& name, std::optional<double>* field, const std::string& help);  // "": unset
  // An option with a parser of its own (growth.event, fedcl.lambda): `default_text` must be
  // what the field's initial value reads as.
  void add_parsed(const std::string& name, const std::string& default_text, const std::string& help, Reader read,
                  bool repeatable = false);
  // Accepted and bound, but left out of --help (test hooks).
  void hide(const std::string& name);

  // A sink that names each setting prefix + key: how a growth strategy's or merge method's
  // own settings become options of a section ("growth." + "scale").
  class Prefixed : public runtime::SettingSink {
   public:
    Prefixed(OptionBinder& binder, std::string prefix) : binder_(binder), prefix_(std::move(prefix)) {}
    void add(const std::string& key, bool* f, const std::string& help) override { binder_.add(prefix_ + key, f, help); }
    void add(const std::string& key, int64_t* f, const std::string& help) override { binder_.add(prefix_ + key, f, help); }
    void add(const std::string& key, double* f, const std::string& help) override { binder_.add(prefix_ + key, f, help); }
    void add(const std::string& key, std::string* f, const std::string& help) override {
      binder_.add(prefix_ + key, f, help);
    }

   private:
    OptionBinder& binder_;
    std::string prefix_;
  };

  const OptionTable& table() const { return table_; }
  // Sets every bound field from `options` (which must have been made from table()).
  void load(const Options& options) const;

 private:
  // Declares `name`; false when it is already bound to the same field (two strategies
  // sharing a setting), in which case nothing is added.
  bool declare(const std::string& name, const void* field, std::string default_text, const std::string& help,
               Reader read, bool repeatable = false);
  OptionTable table_;
  std::vector<Reader> readers_;
  std::vector<const void*> fields_;
};

// The table of the options `bind` declares, defaults from a default-constructed Config.
template <typename Config>
OptionTable table_of(void (*bind)(OptionBinder&, Config&)) {
  Config c;
  OptionBinder b;
  bind(b, c);
  return b.table();
}

// A Config with every option `bind` declares read from `options` (not yet validated).
template <typename Config>
Config load_bound(const Options& options, void (*bind)(OptionBinder&, Config&)) {
  Config c;
  OptionBinder b;
  bind(b, c);
  b.load(options);
  return c;
}

}  // namespace sprout::launch
