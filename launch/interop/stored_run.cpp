#include "launch/interop/stored_run.h"

#include "launch/train/stored_normalization.h"

#include <sstream>

#include "runtime/error.h"

namespace sprout::launch {

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
