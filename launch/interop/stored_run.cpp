#include "launch/interop/stored_run.h"

#include "launch/train/stored_normalization.h"

#include <sstream>

#include "runtime/error.h"

namespace sprout::launch {

TrainConfig stored_train_config(const runtime::CheckpointContent& content, const std::string& where,
                                const std::string& data_dir) {
  const auto table = train_option_table();
  auto o = Options::defaults(table);
  std::istringstream in(runtime::attr_string(content.root, "config", where));
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const OptionSpec* spec = nullptr;
    for (const auto& s : table) {
      if (s.name == key) spec = &s;
    }
    SPROUT_CHECK(spec, ConfigError, where, ": its configuration has option '", key, "', which this sprout does not know");
    if (!spec->repeatable) o.set(key, line.substr(eq + 3));
  }
  if (!data_dir.empty()) o.set("data.dir", data_dir);
  return read_train_config(o);
}

std::optional<InputNormalisation> recorded_normalisation(const runtime::CheckpointContent& content,
                                                         const std::string& where) {
  const auto stored = stored_normalization(content, where);  // /normalization/{mean,std}
  if (!stored) return std::nullopt;
  return InputNormalisation{stored->mean, stored->stddev};
}

void store_input_normalisation(runtime::CheckpointContent& content, const InputNormalisation& input) {
  store_normalization(content, data::Normalization{input.mean, input.stddev});
}

}  // namespace sprout::launch
