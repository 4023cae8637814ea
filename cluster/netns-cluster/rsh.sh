#!/usr/bin/env bash
# rsh.sh HOST COMMAND...: Open MPI's remote-shell agent for the namespace cluster
# (mpirun --mca plm_rsh_agent cluster/netns-cluster/rsh.sh). Where ssh would log in to HOST
# and hand COMMAND to a shell there, this runs it through a shell inside HOST's namespace.
# The environment passes through as it is (mpirun runs on this machine too), so settings
# such as OMPI_ALLOW_RUN_AS_ROOT reach the remote daemon without -x.
host=${1:-}; shift || true
exec "$(dirname "$0")/exec.sh" "$host" sh -c "$*"
