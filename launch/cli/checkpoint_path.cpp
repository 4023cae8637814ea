#include "launch/cli/checkpoint_path.h"

#include <sys/stat.h>

#include "runtime/checkpoint/store.h"
#include "runtime/error.h"

namespace sprout::launch {

std::string resolve_checkpoint_path(const std::string& path, const std::string& option) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return path;
  const std::string latest = runtime::read_latest(path);
  SPROUT_CHECK(!latest.empty(), ConfigError, option, ": directory '", path, "' has no `latest` checkpoint");
  return path + "/" + latest;
}

}  // namespace sprout::launch
