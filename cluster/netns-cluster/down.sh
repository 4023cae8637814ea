#!/usr/bin/env bash
# down.sh: removes what up.sh recorded as created (newest first), and nothing else: the
# namespaces (which takes their veth ends and, with them, the bridge ports), the links,
# the bridge, then the state folder. Processes still running in a node are killed first
# (a namespace with processes in it would outlive `ip netns del`). Safe to run twice.
source "$(dirname "$0")/common.sh"
if [[ ! -f $STATE/created ]]; then echo "netns-cluster: nothing to remove ($STATE)"; exit 0; fi
tac "$STATE/created" | while read -r kind name; do
  case $kind in
    netns)
      pids=$(ip netns pids "$name" 2>/dev/null || true)
      [[ -n $pids ]] && kill -9 $pids 2>/dev/null || true
      ip netns del "$name" 2>/dev/null || true ;;
    link)
      ip link del "$name" 2>/dev/null || true ;;
  esac
done
rm -rf "$STATE"
echo "netns-cluster: removed"
