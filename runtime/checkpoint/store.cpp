#include "runtime/checkpoint/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <tuple>

#include "runtime/error.h"
#include "runtime/checkpoint/verify.h"
#include "runtime/fault_injection.h"
#include "runtime/regular_file.h"

namespace sprout::runtime {

namespace {

constexpr const char* kPrefix = "step-";
constexpr const char* kSuffix = ".h5";
constexpr const char* kTemporary = ".tmp";
constexpr const char* kLatest = "latest";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool valid_tag(const std::string& tag) {
  if (tag.empty() || tag.front() == '-' || tag.back() == '-') return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// 0 for the untagged file, then the caller's tags in order, then every other tag.
size_t tag_rank(const std::string& tag, const TagOrder& tags) {
  if (tag.empty()) return 0;
  const auto it = std::find(tags.begin(), tags.end(), tag);
  return 1 + static_cast<size_t>(it - tags.begin());
}

bool is_regular_entry(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// What a file is now: a verification holds until the file changes.
struct FileVersion {
  dev_t device;
  ino_t inode;
  off_t size;
  int64_t mtime_ns;
  bool operator<(const FileVersion& o) const {
    return std::tie(device, inode, size, mtime_ns) < std::tie(o.device, o.inode, o.size, o.mtime_ns);
  }
};

std::optional<FileVersion> version_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileVersion{st.st_dev, st.st_ino, st.st_size, int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

std::map<FileVersion, std::string>& verified_files() {
  static std::map<FileVersion, std::string> cache;
  return cache;
}

std::string errno_text() { return std::strerror(errno); }

// "" on success, else what failed.
std::string fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY);
  if (fd < 0) return concat("cannot open '", path, "' to fsync: ", errno_text());
  const int rc = ::fsync(fd);
  const std::string err = rc == 0 ? "" : concat("fsync '", path, "': ", errno_text());
  ::close(fd);
  return err;
}

std::string make_dirs(const std::string& dir) {
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    prefix = dir.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) {
      return concat("cannot create checkpoint directory '", prefix, "': ", errno_text());
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return concat("'", dir, "' is not a directory");
  return "";
}

// Rank 0 runs `fn` (returning "" or an error); everyone learns the outcome and throws
// alike. Collective.
void on_root(Communicator& comm, const std::function<std::string()>& fn) {
  std::string error;
  if (comm.rank() == 0) {
    try {
      error = fn();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = broadcast_string(comm, error, 0);
  SPROUT_CHECK(error.empty(), CheckpointError, error);
}

std::string join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

}  // namespace

std::string checkpoint_file_name(int64_t step, const std::string& tag) {
  SPROUT_CHECK(step >= 0, ConfigError, "checkpoint step must be >= 0, got ", step);
  SPROUT_CHECK(tag.empty() || valid_tag(tag), ConfigError, "checkpoint tag '", tag, "' must be [a-z0-9-]+");
  char digits[32];
  std::snprintf(digits, sizeof digits, "%08lld", static_cast<long long>(step));
  return std::string(kPrefix) + digits + (tag.empty() ? "" : "-" + tag) + kSuffix;
}

std::optional<CheckpointName> parse_checkpoint_name(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0 || !ends_with(name, kSuffix)) return std::nullopt;
  const std::string core = name.substr(std::strlen(kPrefix), name.size() - std::strlen(kPrefix) - std::strlen(kSuffix));
  size_t digits = 0;
  while (digits < core.size() && core[digits] >= '0' && core[digits] <= '9') ++digits;
  if (digits < 8 || digits > 18) return std::nullopt;
  CheckpointName out;
  out.step = std::stoll(core.substr(0, digits));
  if (digits < core.size()) {
    if (core[digits] != '-') return std::nullopt;
    out.tag = core.substr(digits + 1);
    if (!valid_tag(out.tag)) return std::nullopt;
  }
  return out;
}

bool checkpoint_older(const CheckpointName& a, const CheckpointName& b, const TagOrder& tags) {
  if (a.step != b.step) return a.step < b.step;
  const size_t ra = tag_rank(a.tag, tags), rb = tag_rank(b.tag, tags);
  if (ra != rb) return ra < rb;
  return a.tag < b.tag;
}

std::vector<std::string> list_checkpoints(const std::string& dir, const TagOrder& tags) {
  std::vector<std::pair<CheckpointName, std::string>> found;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (auto parsed = parse_checkpoint_name(name)) found.emplace_back(*parsed, name);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end(),
            [&](const auto& a, const auto& b) { return checkpoint_older(b.first, a.first, tags); });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::string read_latest(const std::string& dir) {
  std::string text;
  try {
    text = read_regular_file(join(dir, kLatest), 4096, "latest");  // never a FIFO, never huge
  } catch (const Error&) {
    return "";
  }
  const std::string name = text.substr(0, text.find('\n'));
  return parse_checkpoint_name(name) ? name : "";
}

std::string cached_checkpoint_problem(const std::string& path) {
  const auto version = version_of(path);
  if (!version) return concat("checkpoint '", path, "' does not exist");
  auto& cache = verified_files();
  auto it = cache.find(*version);
  if (it == cache.end()) it = cache.emplace(*version, checkpoint_file_problem(path)).first;
  return it->second;
}

std::vector<std::string> prune_victims(const std::string& dir, const PruneRules& rules, const std::string& protect) {
  std::vector<std::string> victims;
  if (rules.keep <= 0) return victims;
  auto names = list_checkpoints(dir, rules.tags);
  const auto incoming = parse_checkpoint_name(protect);
  if (incoming && std::find(names.begin(), names.end(), protect) == names.end()) {
    // Not renamed into place yet: counted where it will be.
    auto at = names.begin();
    while (at != names.end() && checkpoint_older(*incoming, *parse_checkpoint_name(*at), rules.tags)) ++at;
    names.insert(at, protect);
  }
  int kept = 0;
  for (const auto& name : names) {
    if (name == protect) {
      ++kept;
      continue;
    }
    const std::string path = join(dir, name);
    if (!is_regular_entry(path)) continue;  // a directory, FIFO, symlink...: not ours to count or remove
    if (!rules.check(path).empty()) continue;  // damaged: neither counted nor removed
    if (kept < rules.keep) {
      ++kept;
      continue;
    }
    victims.push_back(name);
  }
  return victims;
}

std::vector<std::string> remove_checkpoint_files(const std::string& dir, const std::vector<std::string>& victims) {
  std::vector<std::string> removed;
  for (const auto& name : victims) {
    if (::unlink(join(dir, name).c_str()) == 0) removed.push_back(name);
  }
  // Temporary files of killed writers: "<checkpoint name>.tmp" and "latest.tmp".
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (!ends_with(name, kTemporary)) continue;
      const std::string base = name.substr(0, name.size() - std::strlen(kTemporary));
      if ((base == kLatest || parse_checkpoint_name(base)) && is_regular_entry(join(dir, name))) stale.push_back(name);
    }
    ::closedir(d);
    for (const auto& name : stale) {
      if (::unlink(join(dir, name).c_str()) == 0) removed.push_back(name);
    }
  }
  return removed;
}

std::vector<std::string> prune_checkpoints(const std::string& dir, const PruneRules& rules,
                                           const std::string& protect) {
  return remove_checkpoint_files(dir, prune_victims(dir, rules, protect));
}

PendingCommit begin_commit(Communicator& comm, const std::string& dir, const std::string& file_name,
                           const CheckpointContent& content, std::vector<ShardPiece> pieces) {
  const auto name = parse_checkpoint_name(file_name);
  SPROUT_CHECK(name, CheckpointError, "'", file_name, "' is not a checkpoint file name");
  PendingCommit pending;
  pending.dir = dir;
  pending.file_name = file_name;
  on_root(comm, [&] { return make_dirs(dir); });
  pending.file = prepare_checkpoint_file(comm, join(dir, file_name) + kTemporary, content, std::move(pieces), name->step);
  return pending;
}

WriteStats seal_commit(Communicator& comm, const PendingCommit& pending, const ShardResult& mine) {
  auto stats = finish_checkpoint_file(comm, pending.file, mine);
  // Not agreed: an injected fault stands for this rank crashing mid-commit.
  inject_test_fault("checkpoint", parse_checkpoint_name(pending.file_name)->step, comm.rank());
  return stats;
}

Publication publish_checkpoint(const std::string& dir, const std::string& file_name,
                               const std::vector<std::string>& victims) {
  Publication out;
  const std::string path = join(dir, file_name), tmp = path + kTemporary;
  // Every rank fdatasynced its own rows (write_shard); rank 0 then wrote the checksums.
  out.error = fsync_path(tmp, false);
  if (!out.error.empty()) {
    ::unlink(tmp.c_str());  // give the space back; never a checkpoint
    return out;
  }
  if (auto version = version_of(tmp)) verified_files()[*version] = "";  // just written and synced
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    out.error = concat("cannot rename '", tmp, "' to '", path, "': ", errno_text());
    return out;
  }
  out.error = fsync_path(dir, true);
  if (!out.error.empty()) return out;
  const std::string latest = join(dir, kLatest), latest_tmp = latest + kTemporary;
  {
    std::ofstream file(latest_tmp, std::ios::trunc);
    file << file_name << "\n";
    if (!file.flush()) {
      ::unlink(latest_tmp.c_str());
      out.error = concat("cannot write '", latest_tmp, "'");
      return out;
    }
  }
  out.error = fsync_path(latest_tmp, false);
  if (!out.error.empty()) {
    ::unlink(latest_tmp.c_str());
    return out;
  }
  if (::rename(latest_tmp.c_str(), latest.c_str()) != 0) {
    out.error = concat("cannot rename '", latest_tmp, "' to '", latest, "': ", errno_text());
    return out;
  }
  out.error = fsync_path(dir, true);
  if (!out.error.empty()) return out;
  out.removed = remove_checkpoint_files(dir, victims);
  return out;
}

CommitResult conclude_commit(Communicator& comm, const PendingCommit& pending, const WriteStats& stats,
                             const Publication& publication) {
  const std::string error = broadcast_string(comm, comm.rank() == 0 ? publication.error : "", 0);
  SPROUT_CHECK(error.empty(), CheckpointError, error);
  CommitResult result;
  result.path = join(pending.dir, pending.file_name);
  result.write = stats;
  result.removed = publication.removed;
  return result;
}

CommitResult complete_commit(Communicator& comm, const PendingCommit& pending, const ShardResult& mine,
                             const PruneRules& rules) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto stats = seal_commit(comm, pending, mine);
  Publication publication;
  if (comm.rank() == 0) {
    try {
      publication = publish_checkpoint(pending.dir, pending.file_name, prune_victims(pending.dir, rules, pending.file_name));
    } catch (const std::exception& e) {
      publication.error = e.what();
    }
  }
  auto result = conclude_commit(comm, pending, stats, publication);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

CommitResult commit_checkpoint(Communicator& comm, const std::string& dir, const std::string& file_name,
                               const CheckpointContent& content, const PruneRules& rules) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto pending = begin_commit(comm, dir, file_name, content, shard_views(content, comm.rank(), comm.size()));
  const auto mine = write_shard(pending.file.plan);
  auto result = complete_commit(comm, pending, mine, rules);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.write.seconds = result.seconds;
  return result;
}

}  // namespace sprout::runtime
