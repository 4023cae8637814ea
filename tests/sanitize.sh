#!/usr/bin/env bash
# Sanitizer + fuzzing pass (part of tests/run.sh): a clang build with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer instrumentation in build-asan/, whose unit tests
# run under the sanitizers and whose fuzzers (IDX reader, checkpoint loader) run for
# SPROUT_FUZZ_SECONDS (default 30) each. Extra arguments go to ctest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SPROUT_ASAN_BUILD_DIR:-$ROOT/build-asan}
GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSPROUT_SANITIZE=ON -DSPROUT_FUZZ=ON -DSPROUT_WITH_NCCL=OFF
fi
cmake --build "$BUILD" -j "$(nproc)"
# LibTorch, Open MPI and HDF5 are not instrumented: container-overflow checks across that
# boundary give false reports, and their one-off start-up allocations are not our leaks.
# allocator_may_return_null: an impossible allocation fails as it does without ASan (LibTorch
# throws "can't allocate memory"), which the tests of one-line allocation errors rely on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_container_overflow=0:abort_on_error=0:detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep Open MPI's plugins loaded so leak reports can name (and suppress) them.
export OMPI_MCA_mca_base_component_disable_dlclose=1
cd "$BUILD"
ctest --output-on-failure -L 'unit|fuzz' "$@"
