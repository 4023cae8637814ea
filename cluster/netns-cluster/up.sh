#!/usr/bin/env bash
# up.sh N: a cluster of N "nodes" on this machine, for trying multi-node sprout on one box.
# Node i is a network namespace <prefix>-n<i> whose interface eth0 has the address
# <subnet>.<10+i>/24 and is joined by a veth pair to a private bridge <prefix>-br. The
# bridge has no address and nothing is routed: the nodes reach each other and nothing
# else. They share the file system (namespaces only split the network), which stands in
# for a cluster's shared file system.
#
# Writes, under /run/sprout-netns-cluster/<prefix>/:
#   created   every object made, one per line, in order (down.sh removes exactly these)
#   hostfile  an Open MPI host file: each node's address with slots=$SPROUT_NETNS_SLOTS (2)
#   nodes     "address namespace" per node (rsh.sh and exec.sh look names up here)
# Idempotent: the same N again changes nothing; another N replaces the cluster. A name that
# already exists but was not made by these scripts is an error (it is never touched). A run
# that fails removes what it had made. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN).
source "$(dirname "$0")/common.sh"
N=${1:-}
if ! [[ $N =~ ^[0-9]+$ ]] || ((N < 1 || N > 32)); then
  echo "netns-cluster: up.sh: node count '$N' must be an integer in [1, 32]" >&2; exit 2
fi
SLOTS=${SPROUT_NETNS_SLOTS:-2}
if ! [[ $SLOTS =~ ^[0-9]+$ ]] || ((SLOTS < 1)); then
  echo "netns-cluster: SPROUT_NETNS_SLOTS '$SLOTS' must be a positive integer" >&2; exit 2
fi

TCP_RETRIES2=${SPROUT_NETNS_TCP_RETRIES2:-5}
if ! [[ $TCP_RETRIES2 =~ ^[0-9]+$ ]] || ((TCP_RETRIES2 < 1 || TCP_RETRIES2 > 15)); then
  echo "netns-cluster: SPROUT_NETNS_TCP_RETRIES2 '$TCP_RETRIES2' must be an integer in [1, 15]" >&2; exit 2
fi

cluster_is_up() {
  [[ -f $STATE/created && $(grep -c '^netns ' "$STATE/created") == "$N" ]] || return 1
  ip link show "$BRIDGE" >/dev/null 2>&1 || return 1
  for ((i = 1; i <= N; i++)); do
    ip netns exec "$(node_ns $i)" ip -4 addr show dev eth0 2>/dev/null | grep -q "inet $(node_addr $i)/" || return 1
  done
}
if cluster_is_up; then echo "netns-cluster: $N nodes already up ($STATE/hostfile)"; exit 0; fi
[[ -f $STATE/created ]] && "$(dirname "$0")/down.sh"

mkdir -p "$STATE"
: >"$STATE/created"
trap 'echo "netns-cluster: up.sh failed; removing what it made" >&2; "$(dirname "$0")/down.sh" >&2' ERR
record() { echo "$1 $2" >>"$STATE/created"; }
must_be_free() {  # must_be_free KIND NAME
  if [[ $1 == netns ]] && ip netns list | grep -qw "^$2"; then
    echo "netns-cluster: namespace $2 exists but was not made by up.sh; remove it or set SPROUT_NETNS_PREFIX" >&2; return 1
  elif [[ $1 == link ]] && ip link show "$2" >/dev/null 2>&1; then
    echo "netns-cluster: link $2 exists but was not made by up.sh; remove it or set SPROUT_NETNS_PREFIX" >&2; return 1
  fi
}

must_be_free link "$BRIDGE"
ip link add "$BRIDGE" type bridge && record link "$BRIDGE"
ip link set "$BRIDGE" up
: >"$STATE/hostfile.tmp"; : >"$STATE/nodes.tmp"
for ((i = 1; i <= N; i++)); do
  ns=$(node_ns $i) link=$(node_link $i) addr=$(node_addr $i)
  must_be_free netns "$ns"; must_be_free link "$link"
  ip netns add "$ns" && record netns "$ns"
  # The peer is created inside the namespace already, named eth0 there.
  ip link add "$link" type veth peer name eth0 netns "$ns" && record link "$link"
  ip link set "$link" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  # A peer that stops answering fails a TCP send after ~25 s instead of ~15 min (the
  # kernel default of 15 retransmissions): Open MPI's daemons have no timeout of their own.
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_retries2="$TCP_RETRIES2"
  echo "$addr slots=$SLOTS" >>"$STATE/hostfile.tmp"
  echo "$addr $ns" >>"$STATE/nodes.tmp"
done
# Up when every port of the bridge forwards (a fresh port may pass through "learning").
for ((tries = 0; tries < 50; tries++)); do
  [[ $(bridge link show master "$BRIDGE" | grep -c 'state forwarding') == "$N" ]] && break
  sleep 0.1
done
[[ $(bridge link show master "$BRIDGE" | grep -c 'state forwarding') == "$N" ]]
mv "$STATE/hostfile.tmp" "$STATE/hostfile"; mv "$STATE/nodes.tmp" "$STATE/nodes"
trap - ERR
echo "netns-cluster: $N nodes up: $(cut -d' ' -f2 "$STATE/nodes" | tr '\n' ' ')(host file $STATE/hostfile)"
