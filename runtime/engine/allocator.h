// Host memory behaviour of a training process.
#pragma once

namespace sprout::runtime {

// Every step allocates and frees the same large tensors (activations, gradients: MBs
// each). By default glibc serves blocks above an adaptive threshold (≤ 32 MiB) with mmap
// and returns freed heap tops to the kernel, so the next step pays fresh page faults and
// kernel zeroing for all of them — measured 2–3 ms per step for the CNN's gradients alone.
// This keeps freed memory in the heap for reuse (tensors up to 256 MiB; the heap is not
// trimmed below 1 GiB of free space): a caching allocator in two calls. Process-wide;
// call once at start-up. Returns false if glibc refused (other C libraries: no-op).
bool retain_freed_memory();

// Largest resident set size of this process so far, in MiB (getrusage).
double peak_rss_mb();

// Measuring what a phase adds to the resident memory: freed heap memory still resident
// (kept by retain_freed_memory) would absorb the phase's first allocations and hide them.
// start_rss_measurement returns it to the kernel (malloc_trim) and restarts the kernel's
// peak (/proc/self/clear_refs, Linux >= 4.0); it returns the resident MiB at that moment,
// or a negative value where the peak cannot be restarted. rss_peak_since_start_mb: the
// peak since then (VmHWM), MiB.
double start_rss_measurement();
double rss_peak_since_start_mb();

}  // namespace sprout::runtime
