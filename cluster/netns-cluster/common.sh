# Shared settings of the namespace cluster scripts (sourced).
#   SPROUT_NETNS_PREFIX  names of everything created: <prefix>-n<i> namespaces, <prefix>-br
#                        bridge, <prefix>-v<i> links (default "sprout"; at most 8 characters)
#   SPROUT_NETNS_SUBNET  first three octets of the private /24 (default 10.213.0): the
#                        bridge has no address, node i is <subnet>.<10+i>
set -euo pipefail
PATH=/usr/sbin:/sbin:$PATH
PREFIX=${SPROUT_NETNS_PREFIX:-sprout}
SUBNET=${SPROUT_NETNS_SUBNET:-10.213.0}
if ! [[ $PREFIX =~ ^[a-z][a-z0-9]{0,7}$ ]]; then
  echo "netns-cluster: SPROUT_NETNS_PREFIX '$PREFIX' must be 1-8 lower-case letters or digits" >&2; exit 2
fi
if ! [[ $SUBNET =~ ^10\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
  echo "netns-cluster: SPROUT_NETNS_SUBNET '$SUBNET' must be three octets of 10.0.0.0/8, e.g. 10.213.0" >&2; exit 2
fi
STATE=/run/sprout-netns-cluster/$PREFIX     # what up.sh created, the host file, the node table
BRIDGE=$PREFIX-br
node_ns()   { echo "$PREFIX-n$1"; }          # namespace (and host name) of node i
node_link() { echo "$PREFIX-v$1"; }          # the node's link on the bridge, host side
node_addr() { echo "$SUBNET.$((10 + $1))"; }
