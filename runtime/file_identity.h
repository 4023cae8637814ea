// Whether two paths name the same file, by what they are rather than how they are spelt:
// `./e1/x.h5`, `/abs/e1/x.h5`, `e1//x.h5`, a symlink to it and a hard link to it are all
// the same file. Commands that write (merge --out, fedcl.save_dir, checkpoints) compare
// their outputs with their inputs this way before they write anything.
//
// Identity: an existing file is its (device, inode), symlinks followed. A path that does
// not exist yet is the file it would create: the real path of its parent directory (every
// symlink resolved) plus its last component; if the parent does not exist either, the
// absolute, lexically normalised path.
#pragma once

#include <sys/types.h>

#include <string>

namespace sprout::runtime {

struct FileIdentity {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  std::string would_be;  // !exists: the resolved path the file would have
};

FileIdentity file_identity(const std::string& path);
bool operator==(const FileIdentity& a, const FileIdentity& b);
inline bool operator!=(const FileIdentity& a, const FileIdentity& b) { return !(a == b); }

// True if `a` and `b` name the same file (existing or not).
bool same_file(const std::string& a, const std::string& b);

}  // namespace sprout::runtime
