#!/usr/bin/env bash
# exec.sh NODE COMMAND [ARG...]: runs COMMAND inside a node of the namespace cluster.
# NODE is the node's address or namespace name (up.sh's "nodes" table). The command gets
# the node's network and, in a UTS namespace of its own, the node's name as host name: Open
# MPI names shared-memory segments after the host name, so two nodes sharing one would
# collide in /dev/shm. Arguments are passed as they are (no shell in between).
source "$(dirname "$0")/common.sh"
node=${1:-}; shift || true
ns=$(awk -v n="$node" '$1 == n || $2 == n { print $2 }' "$STATE/nodes" 2>/dev/null | head -n 1)
if [[ -z $ns ]]; then
  echo "netns-cluster: '$node' is not a node of the cluster $PREFIX (up.sh first; nodes: $(cut -d' ' -f2 "$STATE/nodes" 2>/dev/null | tr '\n' ' '))" >&2
  exit 2
fi
(($# > 0)) || { echo "netns-cluster: exec.sh $node: no command" >&2; exit 2; }
exec ip netns exec "$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$ns" "$@"
