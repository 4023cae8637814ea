#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains an MLP on Fashion-MNIST with
# 2 data-parallel ranks. Extra arguments go to `sprout train` (e.g. --train.epochs 2).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
"$ROOT/launch/scripts/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$ROOT"
exec mpirun -np 2 --oversubscribe "${SPROUT_BUILD_DIR:-$ROOT/build}/launch/sprout" train \
  --config launch/configs/quickstart.ini "$@"
