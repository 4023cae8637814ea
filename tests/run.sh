#!/usr/bin/env bash
# The test command: installs what is missing (apt), builds, and runs the whole test suite:
#   1. build/      unit tests, MPI tests under mpiexec (-n 2, -n 3, -n 4), end-to-end CLI,
#                  fault-injection and Slurm tests (a one-node Slurm it starts and stops);
#   2. build-asan/ (tests/sanitize.sh) the unit tests under ASan+UBSan, and the libFuzzer
#                  targets for the IDX reader and the checkpoint loader, 30 s each.
# Extra arguments go to the first ctest (e.g. -L unit); SPROUT_SKIP_SANITIZE=1 skips step 2.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPROUT_EXTRA_PACKAGES="clang libclang-rt-14-dev slurm-wlm munge iproute2 procps xxd ${SPROUT_EXTRA_PACKAGES:-}" \
  "$ROOT/launch/scripts/setup.sh" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
status=0
(cd "${SPROUT_BUILD_DIR:-$ROOT/build}" && ctest --output-on-failure "$@") || status=1
if [[ ${SPROUT_SKIP_SANITIZE:-0} != 1 ]]; then
  "$ROOT/tests/sanitize.sh" || status=1
fi
((status == 0)) && echo "tests/run.sh: all passed" || echo "tests/run.sh: FAILURES (see above)"
exit $status
