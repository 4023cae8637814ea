#!/usr/bin/env bash
# Stops exactly the daemons cluster/local-slurm/start.sh started (by the pids it recorded):
# the slurmds, slurmctld, then munged; and removes the bridge address it added in --netns
# mode. Safe to run twice.
set -uo pipefail
PATH=/usr/sbin:/sbin:$PATH
DIR=${SPROUT_SLURM_DIR:-/tmp/sprout-slurm}
for f in "$DIR"/run/slurmd-*.started "$DIR/run/slurmctld.started" "$DIR/run/munged.started"; do
  [[ -s $f ]] || continue
  name=$(basename "$f" .started) pid=$(cat "$f")
  # Only if that pid is still our daemon (its command line names $DIR), not a later process
  # that reuses the number.
  if kill -0 "$pid" 2>/dev/null && grep -qaF -- "$DIR/" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "local-slurm: stopped $name (pid $pid)" >&2
  fi
  rm -f "$f"
done
if [[ -s $DIR/run/bridge-address.added ]]; then
  read -r addr dev <"$DIR/run/bridge-address.added"
  ip addr del "$addr" dev "$dev" 2>/dev/null && echo "local-slurm: removed $addr from $dev" >&2
  rm -f "$DIR/run/bridge-address.added"
fi
exit 0
