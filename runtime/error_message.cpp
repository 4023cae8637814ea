#include "runtime/error_message.h"

#include <c10/util/Exception.h>

#include <new>

namespace sprout::runtime {

namespace {

std::string raw_message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

// "a\n  b\n" -> "a; b": one line for logs that are read line by line.
std::string fold_lines(const std::string& text) {
  std::string out;
  bool pending_break = false;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      pending_break = !out.empty();
      continue;
    }
    if (pending_break) {
      if (c == ' ' || c == '\t') continue;  // indentation of the next line
      out += "; ";
      pending_break = false;
    }
    out += c;
  }
  return out;
}

}  // namespace

bool is_allocation_failure(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e)) return true;
  if (!dynamic_cast<const c10::Error*>(&e)) return false;
  const std::string m = raw_message(e);
  return m.find("can't allocate memory") != std::string::npos || m.find("out of memory") != std::string::npos;
}

std::string error_line(const std::exception& e) {
  std::string m = fold_lines(raw_message(e));
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "out of memory (" + m + ")";
  if (is_allocation_failure(e) && m.find("out of memory") == std::string::npos) m = "out of memory: " + m;
  return m;
}

}  // namespace sprout::runtime
