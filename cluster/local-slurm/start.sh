#!/usr/bin/env bash
# A one-node Slurm for sprout's tests: installs slurm-wlm and munge if missing, writes a
# slurm.conf for this host (slurmctld + slurmd, select/cons_tres, partition `debug`), starts
# munged (unless one is running), slurmctld and slurmd, and waits until the node is idle.
# Everything lives in $SPROUT_SLURM_DIR (default /tmp/sprout-slurm); the pids of the daemons
# this script started are recorded there, and stop.sh stops exactly those.
#
# Usage:  eval "$(cluster/local-slurm/start.sh)"     # exports SLURM_CONF for sbatch/sinfo
#         cluster/local-slurm/stop.sh
# Works as root (slurmd must run as root to launch jobs).
set -euo pipefail
DIR=${SPROUT_SLURM_DIR:-/tmp/sprout-slurm}
CPUS=${SPROUT_SLURM_CPUS:-8}   # advertised CPUs (more than the cores: tests oversubscribe)
log() { echo "local-slurm: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then log "must run as root (slurmd launches jobs as their users)"; exit 1; fi
need=()
for p in slurm-wlm munge; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p"); done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

mkdir -p "$DIR"/{state,spool,log,run}
CONF=$DIR/slurm.conf
HOST=$(hostname -s)
MEM=$(awk '/MemTotal/ {print int($2/1024) - 1024}' /proc/meminfo)

# munge: reuse a running daemon, else start one with the package's key.
if ! pgrep -x munged >/dev/null; then
  if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  fi
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  if id munge >/dev/null 2>&1; then runuser -u munge -- /usr/sbin/munged >&2; else /usr/sbin/munged --force >&2; fi
  for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
  cat /run/munge/munged.pid >"$DIR/run/munged.started"
  log "started munged (pid $(cat "$DIR/run/munged.started"))"
fi
munge -n | unmunge >/dev/null || { log "munge does not work"; exit 1; }

cat >"$CONF" <<CONF
# Written by cluster/local-slurm/start.sh for sprout's tests.
ClusterName=sprout
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Requeued jobs become eligible after cred_expire seconds (default 120): keep tests short.
AuthInfo=cred_expire=15
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
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
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF=$CONF

start_daemon() {  # start_daemon NAME PIDFILE CMD...
  local name=$1 pidfile=$2; shift 2
  if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "$name already running (pid $(cat "$pidfile"))"; return
  fi
  "$@" >&2
  for _ in $(seq 100); do [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && break; sleep 0.1; done
  [[ -s $pidfile ]] || { log "$name did not start; see $DIR/log"; exit 1; }
  cp "$pidfile" "$DIR/run/$name.started"
  log "started $name (pid $(cat "$pidfile"))"
}
start_daemon slurmctld "$DIR/run/slurmctld.pid" /usr/sbin/slurmctld -f "$CONF"
start_daemon slurmd "$DIR/run/slurmd.pid" /usr/sbin/slurmd -f "$CONF"

# Wait until the node is idle (ReturnToService=2 brings it back from DOWN by itself).
for _ in $(seq 120); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)
  case $state in idle*|mix*|alloc*) break ;; down*|drain*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;; esac
  sleep 0.5
done
state=$(sinfo -h -N -o '%t' | head -n 1)
[[ $state == idle* ]] || { log "node is '$state', not idle; see $DIR/log"; exit 1; }
log "node $HOST idle ($CPUS CPUs, partition debug)"
echo "export SLURM_CONF=$CONF"
