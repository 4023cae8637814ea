#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole test suite
# (unit, MPI under mpiexec, end-to-end CLI). Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/launch/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "${SPROUT_BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure "$@"
