// The checkpoint a command reads when given FILE or DIR: a directory stands for the
// checkpoint its `latest` file names (runtime/checkpoint/store.h), for `sprout eval
// --checkpoint` and `sprout inspect` alike.
#pragma once

#include <string>

namespace sprout::launch {

// `path` itself when it is not a directory; else DIR/<latest>. Throws ConfigError naming
// `option` when the directory has no `latest` checkpoint. Local (no collectives).
std::string resolve_checkpoint_path(const std::string& path, const std::string& option);

}  // namespace sprout::launch
