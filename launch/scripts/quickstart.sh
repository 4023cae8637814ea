#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains an MLP on Fashion-MNIST with
# 2 data-parallel ranks. Extra arguments go to `sprout train` (e.g. --train.epochs 2).
# The metrics (one JSON line per logged step) go to $SPROUT_RUNS_DIR/quickstart/metrics.jsonl,
# by default runs/ in the checkout, which git ignores: the job writes nothing that git tracks.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
"$ROOT/launch/scripts/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
RUN_DIR=${SPROUT_RUNS_DIR:-$ROOT/runs}/quickstart
mkdir -p "$RUN_DIR"
cd "$ROOT"
exec mpirun -np 2 --oversubscribe "${SPROUT_BUILD_DIR:-$ROOT/build}/launch/sprout" train \
  --config launch/configs/quickstart.ini --log.metrics "$RUN_DIR/metrics.jsonl" "$@"
