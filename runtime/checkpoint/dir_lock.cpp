#include "runtime/checkpoint/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/error.h"
#include "runtime/regular_file.h"

namespace sprout::runtime {

namespace {

constexpr const char* kLockName = "lock";

std::string make_dirs(const std::string& dir) {
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) {
      return concat("cannot create checkpoint directory '", prefix, "': ", std::strerror(errno));
    }
  }
  return "";
}

std::string holder_of(const std::string& path) {
  try {
    std::string text = read_regular_file(path, 4096, "lock");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text.empty() ? "holder unknown" : text;
  } catch (const Error&) {
    return "holder unknown";
  }
}

struct Outcome {
  int fd = -1;
  int status = 0;  // 0 ok, 1 CheckpointError, 2 ConfigError
  std::string message, warning;
};

Outcome lock_on_this_rank(const std::string& dir) {
  Outcome out;
  out.message = make_dirs(dir);
  if (!out.message.empty()) {
    out.status = 1;
    return out;
  }
  const std::string path = dir + "/" + kLockName;
  // O_NONBLOCK | O_NOFOLLOW: a FIFO or a symlink planted under the name is refused, not followed.
  out.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, 0644);
  struct stat st;
  if (out.fd < 0 || ::fstat(out.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    out.message = concat("cannot use the lock file '", path, "': ",
                         out.fd < 0 ? std::strerror(errno) : "not a regular file");
    if (out.fd >= 0) ::close(out.fd);
    out.fd = -1;
    out.status = 1;
    return out;
  }
  if (::flock(out.fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      ::close(out.fd);
      out.fd = -1;
      out.status = 2;
      out.message = concat("checkpoint.dir '", dir, "' is in use by another job (", holder_of(path),
                           "); give each job its own --checkpoint.dir");
      return out;
    }
    out.warning = concat("cannot lock checkpoint.dir '", dir, "' (", std::strerror(err),
                         "): another job writing it would not be noticed");
    return out;  // keep the fd: harmless, closed with the lock object
  }
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  const std::string who = concat("host ", host, ", pid ", ::getpid(), "\n");
  if (::ftruncate(out.fd, 0) == 0) {
    const ssize_t n = ::pwrite(out.fd, who.data(), who.size(), 0);
    (void)n;  // the record is for messages only
  }
  return out;
}

}  // namespace

std::unique_ptr<CheckpointDirLock> CheckpointDirLock::acquire(Communicator& comm, const std::string& dir,
                                                              std::string* warning) {
  Outcome out;
  if (comm.rank() == 0) out = lock_on_this_rank(dir);
  const std::string agreed = broadcast_string(comm, concat(out.status, out.message), 0);
  if (warning) *warning = out.warning;
  const int status = agreed[0] - '0';
  if (status == 2) throw ConfigError(agreed.substr(1));
  if (status == 1) throw CheckpointError(agreed.substr(1));
  return std::unique_ptr<CheckpointDirLock>(new CheckpointDirLock(out.fd));
}

CheckpointDirLock::~CheckpointDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

}  // namespace sprout::runtime
