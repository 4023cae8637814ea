#include "runtime/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/error.h"

namespace sprout::runtime {

namespace {

std::string kind_of(mode_t mode) {
  if (S_ISREG(mode)) return "";
  if (S_ISDIR(mode)) return "is a directory, not a regular file";
  if (S_ISFIFO(mode)) return "is a FIFO, not a regular file";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device, not a regular file";
  if (S_ISSOCK(mode)) return "is a socket, not a regular file";
  return "is not a regular file";
}

}  // namespace

std::string why_not_regular_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? "does not exist" : concat("cannot be read: ", std::strerror(errno));
  return kind_of(st.st_mode);
}

std::string read_regular_file(const std::string& path, int64_t max_bytes, const std::string& what) {
  const auto fail = [&](const std::string& problem) { return ConfigError(concat(what, ": '", path, "' ", problem)); };
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw fail(errno == ENOENT ? "does not exist" : concat("cannot be opened: ", std::strerror(errno)));
  struct stat st;
  std::string problem = ::fstat(fd, &st) != 0 ? concat("cannot be read: ", std::strerror(errno)) : kind_of(st.st_mode);
  if (problem.empty() && st.st_size > max_bytes) {
    problem = concat("is ", st.st_size, " bytes, over the limit of ", max_bytes, " bytes for this file");
  }
  std::string out;
  if (problem.empty()) {
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    // The file may grow while it is read: at most max_bytes + 1 are read to notice.
    while (problem.empty()) {
      if (done == out.size()) {
        if (static_cast<int64_t>(out.size()) > max_bytes) break;
        out.resize(out.size() + 4096);
      }
      const ssize_t n = ::read(fd, &out[done], out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) problem = concat("cannot be read: ", std::strerror(errno));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    out.resize(done);
    if (problem.empty() && static_cast<int64_t>(done) > max_bytes) {
      problem = concat("is over the limit of ", max_bytes, " bytes for this file");
    }
  }
  ::close(fd);
  if (!problem.empty()) throw fail(problem);
  return out;
}

}  // namespace sprout::runtime
