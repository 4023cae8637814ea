// The one line a user reads for an exception, whatever threw it. sprout's own errors are
// one line already; LibTorch's c10::Error carries a C++ backtrace after its message, and
// an allocation failure (std::bad_alloc, LibTorch's "DefaultCPUAllocator: can't allocate
// memory") should say "out of memory" and how much was asked for, not dump a stack.
#pragma once

#include <exception>
#include <string>

namespace sprout::runtime {

// The message of `e` on one line: LibTorch's backtrace dropped, line breaks folded into
// "; ", an allocation failure prefixed with "out of memory: ".
std::string error_line(const std::exception& e);

// std::bad_alloc, or a LibTorch error that reports a failed allocation (CPU or device).
bool is_allocation_failure(const std::exception& e);

}  // namespace sprout::runtime
