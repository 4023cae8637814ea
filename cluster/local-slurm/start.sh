#!/usr/bin/env bash
# A private Slurm on this machine for sprout's tests: installs slurm-wlm and munge if
# missing, writes a slurm.conf (select/cons_tres, partition `debug`), starts munged (unless
# one is running), slurmctld and the slurmd(s), and waits until every node is idle.
#   start.sh          one node: this host (slurmctld + one slurmd)
#   start.sh --netns  one slurmd per node of the namespace cluster that is up
#                     (cluster/netns-cluster/up.sh N first; SPROUT_NETNS_PREFIX/_SUBNET pick
#                     it): node <prefix>-n<i> at its address, slurmd started inside the
#                     node's namespace under the node's host name. slurmctld runs on this
#                     host and listens on <subnet>.1, an address given to the cluster's
#                     bridge (removed again by stop.sh), so the nodes and this host's sbatch
#                     reach it; munged's socket is a file that every namespace sees.
# Everything lives in $SPROUT_SLURM_DIR (default /tmp/sprout-slurm); the pids of the daemons
# this script started are recorded there, and stop.sh stops exactly those.
#
# Usage:  eval "$(cluster/local-slurm/start.sh [--netns])"  # exports SLURM_CONF for sbatch/sinfo
#         (SPROUT_SLURM_PORT picks the ports, default 6817/6818; SPROUT_SLURM_DIR the folder;
#         SPROUT_SLURM_CPUS the CPUs each node advertises, default 8)
#         cluster/local-slurm/stop.sh
# Works as root (slurmd must run as root to launch jobs).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=one
case ${1:-} in
  "") ;;
  --netns) MODE=netns ;;
  *) echo "local-slurm: unknown argument '$1' (start.sh [--netns])" >&2; exit 2 ;;
esac
DIR=${SPROUT_SLURM_DIR:-/tmp/sprout-slurm}
CPUS=${SPROUT_SLURM_CPUS:-8}   # advertised CPUs (more than the cores: tests oversubscribe)
PORT=${SPROUT_SLURM_PORT:-6817} # slurmctld; slurmd uses PORT+1
log() { echo "local-slurm: $*" >&2; }
if ! [[ $CPUS =~ ^[0-9]+$ ]] || ((CPUS < 1)); then log "SPROUT_SLURM_CPUS '$CPUS' must be a positive integer"; exit 2; fi
if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT < 1024 || PORT > 65534)); then log "SPROUT_SLURM_PORT '$PORT' must be an integer in [1024, 65534]"; exit 2; fi

if [[ $(id -u) -ne 0 ]]; then log "must run as root (slurmd launches jobs as their users)"; exit 1; fi
need=()
for p in slurm-wlm munge; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p"); done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

mkdir -p "$DIR"/{state,spool,log,run}
for p in "$PORT" $((PORT + 1)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    log "port $p is in use (another Slurm?); set SPROUT_SLURM_PORT to a free pair"; exit 1
  fi
done
CONF=$DIR/slurm.conf
HOST=$(hostname -s)
MEM=$(awk '/MemTotal/ {print int($2/1024) - 1024}' /proc/meminfo)

# The nodes: "name address" per line (the address only in --netns mode), and where the
# controller is reached.
if [[ $MODE == netns ]]; then
  source "$HERE/../netns-cluster/common.sh"   # PREFIX, SUBNET, STATE, BRIDGE of that cluster
  if [[ ! -s $STATE/nodes ]] || ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "no namespace cluster '$PREFIX' is up (cluster/netns-cluster/up.sh N first)"; exit 2
  fi
  NODES=$(awk '{ print $2, $1 }' "$STATE/nodes")
  CTL_ADDR=$SUBNET.1
  # The bridge address is this host's only foothold on the cluster network; it is recorded
  # so that stop.sh removes it (and only it: an address someone else put there stays).
  if ! ip -4 addr show dev "$BRIDGE" | grep -q "inet $CTL_ADDR/"; then
    ip addr add "$CTL_ADDR/24" dev "$BRIDGE"
    echo "$CTL_ADDR/24 $BRIDGE" >"$DIR/run/bridge-address.added"
  fi
  CTL_HOST="$HOST($CTL_ADDR)"
else
  NODES=$HOST
  CTL_HOST=$HOST
fi
NODE_NAMES=$(awk '{ print $1 }' <<<"$NODES" | paste -sd, -)

# munge: a private munged (own socket, pid and log files in $DIR), so a system munged or
# another local Slurm is never touched. The key is the package's (/etc/munge/munge.key).
if [[ ! -s /etc/munge/munge.key ]]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chmod 400 /etc/munge/munge.key
fi
SOCKET=$DIR/run/munge.socket
mkdir -p "$DIR/munge" && chmod 700 "$DIR/munge"
cp /etc/munge/munge.key "$DIR/munge/munge.key" && chmod 400 "$DIR/munge/munge.key"
if ! { [[ -s $DIR/run/munged.pid ]] && kill -0 "$(cat "$DIR/run/munged.pid")" 2>/dev/null; }; then
  /usr/sbin/munged --force --socket="$SOCKET" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" >&2
  for _ in $(seq 50); do [[ -s $DIR/run/munged.pid ]] && break; sleep 0.1; done
  cp "$DIR/run/munged.pid" "$DIR/run/munged.started"
  log "started munged (pid $(cat "$DIR/run/munged.started"))"
fi
munge -S "$SOCKET" -n | unmunge -S "$SOCKET" >/dev/null || { log "munge does not work"; exit 1; }

cat >"$CONF" <<CONF
# Written by cluster/local-slurm/start.sh for sprout's tests.
ClusterName=sprout
SlurmctldHost=$CTL_HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Requeued jobs become eligible after cred_expire seconds (default 120): keep tests short.
AuthInfo=socket=$SOCKET,cred_expire=15
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
StateSaveLocation=$DIR/state
# %n: the node's name, so that slurmds sharing this file system keep apart.
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
# Per node too: srun's PMIx plugin makes its per-step folder under TmpFS, and two slurmds
# on one file system would otherwise collide on it ("spmix_appdir_...: File exists").
TmpFS=$DIR/tmp/%n
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
MinJobAge=300
KillWait=10
InactiveLimit=0
SchedulerType=sched/backfill
PartitionName=debug Nodes=$NODE_NAMES Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
while read -r name addr; do
  echo "NodeName=$name${addr:+ NodeHostname=$name NodeAddr=$addr} CPUs=$CPUS RealMemory=$MEM State=UNKNOWN"
done <<<"$NODES" >>"$CONF"
export SLURM_CONF=$CONF

start_daemon() {  # start_daemon NAME PIDFILE CMD...
  local name=$1 pidfile=$2; shift 2
  if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "$name already running (pid $(cat "$pidfile"))"; return
  fi
  "$@" >&2 </dev/null || { log "$name did not start; see $DIR/log"; exit 1; }
  for _ in $(seq 100); do [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && break; sleep 0.1; done
  [[ -s $pidfile ]] || { log "$name did not start; see $DIR/log"; exit 1; }
  cp "$pidfile" "$DIR/run/$name.started"
  log "started $name (pid $(cat "$pidfile"))"
}
start_daemon slurmctld "$DIR/run/slurmctld.pid" /usr/sbin/slurmctld -f "$CONF"
while read -r name addr; do
  mkdir -p "$DIR/spool/$name" "$DIR/tmp/$name"
  if [[ -n $addr ]]; then
    # Inside the node's network namespace, under its host name (a UTS namespace of its
    # own), as netns-cluster/exec.sh does, but entered with nsenter: `ip netns exec` mounts
    # a fresh /sys, without the cgroup file systems that slurmd insists on finding.
    start_daemon "slurmd-$name" "$DIR/run/slurmd-$name.pid" nsenter --net="/run/netns/$name" unshare --uts \
      sh -c 'hostname "$0" && exec "$@"' "$name" /usr/sbin/slurmd -f "$CONF" -N "$name"
  else
    start_daemon "slurmd-$name" "$DIR/run/slurmd-$name.pid" /usr/sbin/slurmd -f "$CONF" -N "$name"
  fi
done <<<"$NODES"

# Wait until every node is idle (ReturnToService=2 brings a node back from DOWN by itself).
not_idle() { sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 !~ /^idle/ { print $1 "=" $2 }' | sort -u; }
for _ in $(seq 120); do
  states=$(sinfo -h -N -o '%N %t' 2>/dev/null || true)
  [[ -n $states && -z $(not_idle) ]] && break
  awk '$2 ~ /^(down|drain)/ { print $1 }' <<<"$states" | while read -r name; do
    scontrol update NodeName="$name" State=RESUME >/dev/null 2>&1 || true
  done
  sleep 0.5
done
busy=$(not_idle | tr '\n' ' ')
[[ -n $(sinfo -h -N -o '%N' 2>/dev/null) && -z $busy ]] || { log "nodes not idle: ${busy:-no answer from slurmctld}; see $DIR/log"; exit 1; }
log "nodes ${NODE_NAMES//,/, } idle ($CPUS CPUs each, partition debug)"
echo "export SLURM_CONF=$CONF"
