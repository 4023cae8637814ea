#!/usr/bin/env bash
# mpirun.sh ARG...: mpirun across the namespace cluster, started on its first node, with
# every node of up.sh's host file and the settings multi-node runs need:
#   plm_rsh_agent rsh.sh               daemons start inside the nodes' namespaces (no ssh)
#   btl/oob_tcp_if_include <subnet>    data and control traffic only on the cluster network
#   oob_tcp_keepalive_{time,intvl,probes} 5/2/3
#                                      an idle control connection to a vanished node fails
#                                      in ~11 s instead of Open MPI's 300+20*9 s
# ARG... are mpirun's (-np, --map-by, -x, ...) followed by the program, e.g.
#   cluster/netns-cluster/mpirun.sh -np 4 build/launch/sprout train --train.steps 50
# Extra mpirun options: $SPROUT_NETNS_MPIRUN_ARGS (split on spaces).
source "$(dirname "$0")/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
[[ -f $STATE/hostfile ]] || { echo "netns-cluster: no cluster $PREFIX is up (run up.sh N first)" >&2; exit 2; }
first=$(head -n 1 "$STATE/nodes" | cut -d' ' -f2)
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# shellcheck disable=SC2086
exec "$HERE/exec.sh" "$first" mpirun --hostfile "$STATE/hostfile" \
  --mca plm_rsh_agent "$HERE/rsh.sh" \
  --mca btl_tcp_if_include "$SUBNET.0/24" --mca oob_tcp_if_include "$SUBNET.0/24" \
  --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3 \
  -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS ${SPROUT_NETNS_MPIRUN_ARGS:-} "$@"
