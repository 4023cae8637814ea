#!/usr/bin/env bash
# Stops exactly the daemons cluster/local-slurm/start.sh started (by the pids it recorded).
set -uo pipefail
DIR=${SPROUT_SLURM_DIR:-/tmp/sprout-slurm}
for name in slurmd slurmctld munged; do
  f=$DIR/run/$name.started
  [[ -s $f ]] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "local-slurm: stopped $name (pid $pid)" >&2
  fi
  rm -f "$f"
done
