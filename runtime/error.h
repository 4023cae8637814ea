// Typed errors for sprout. Library code throws; only `main` catches, prints one line
// and ends the job (see Note [Error agreement] in launch/cli/rank_agreement.h).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace sprout {

// Base of every sprout error. what() is the one line a user reads.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A user-supplied option, config file or value is invalid. Exit status 2.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A collective failed or timed out.
class CommError : public Error {
 public:
  using Error::Error;
};

// A checkpoint could not be written or read (names the file and the tensor).
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// Surgery (growth, width change) failed or left ranks inconsistent.
class SurgeryError : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// concat("a", 1, "b") -> "a1b"
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace sprout

// Throws `ErrorType` with a message built from the remaining arguments when `cond` is false.
#define SPROUT_CHECK(cond, ErrorType, ...)                 \
  do {                                                     \
    if (!(cond)) throw ErrorType(::sprout::concat(__VA_ARGS__)); \
  } while (0)
