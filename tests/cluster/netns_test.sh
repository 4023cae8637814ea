#!/usr/bin/env bash
# sprout across "nodes" that are network namespaces of this machine
# (cluster/netns-cluster/): a 2-node cluster comes up (and up.sh is idempotent); a 4-rank
# training with a growth event runs 2 ranks per node, shared memory inside a node and
# Open MPI's TCP transport between nodes (checked in Open MPI's verbose output); its
# checkpoint, on the shared file system, resumes on 1 node of 2 ranks; a collective merge
# (`sprout fedcl`, one node group per node) completes. Then, with a job mid-step, the
# network faults: a node's link goes down (partition), every process of a node is killed
# (node loss) — each ends the job within runtime.timeout + a stated bound, with a message,
# leaving only complete checkpoints, and `--resume auto` on the surviving node alone goes
# on from the newest one — and a 1 s link outage is survived. The cluster is removed at
# the end, also on failure. Skips (status 77) only where namespaces cannot be created.
source "$(dirname "$0")/../e2e/lib.sh"
NC=$SPROUT_SOURCE_DIR/cluster/netns-cluster
export SPROUT_NETNS_PREFIX=sprtest SPROUT_NETNS_SUBNET=10.213.77  # apart from a user's cluster
export PATH=/usr/sbin:/sbin:$PATH
N1=sprtest-n1 N2=sprtest-n2
TIMEOUT=8          # runtime.timeout of the fault runs
BOUND=35           # what Open MPI adds after it: TCP retransmissions (tcp_retries2=5) + teardown

if ! ip netns add sprtest-probe 2>"$WORK/probe.err"; then
  echo "SKIP: network namespaces cannot be created here: $(head -n 1 "$WORK/probe.err")"; exit 77
fi
ip netns del sprtest-probe
trap '"$NC/down.sh" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

"$NC/up.sh" 2 >"$WORK/up1" 2>&1 && "$NC/up.sh" 2 >"$WORK/up2" 2>&1; RC=$?
expect_rc 0 "up.sh 2, twice"
grep -q "already up" "$WORK/up2" && [[ $(ip netns list | grep -c '^sprtest-n') == 2 ]] \
  && pass "up.sh is idempotent: 2 namespaces" || fail "up.sh twice: $(cat "$WORK/up2"); $(ip netns list)"
[[ $("$NC/exec.sh" 10.213.77.12 hostname) == "$N2" ]] && pass "exec.sh runs inside node 2 under its name" || fail "exec.sh"

# mrun NP ARGS...: sprout on NP ranks over the cluster (2 per node); RC, OUT, ERR, TOOK.
mrun() {
  local np=$1 start=$SECONDS; shift
  timeout --kill-after=10 "${E2E_TIMEOUT:-120}" "$NC/mpirun.sh" -np "$np" "$SPROUT_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$? TOOK=$((SECONDS - start))
  return $RC
}
# node1_run NP ARGS...: sprout on node 1 alone (no other node involved).
node1_run() {
  local np=$1; shift
  timeout --kill-after=10 120 "$NC/exec.sh" $N1 mpirun -np "$np" --oversubscribe "$SPROUT_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
}

# 1. Training with growth across 2 nodes, the TCP transport carrying the inter-node traffic.
CK=$WORK/ck
TRAIN=(train --train.batch 32 --model.widths 64 --train.log_every 10 --log.progress lines
       --growth.event 15:fc1:+16 --checkpoint.dir "$CK" --checkpoint.every 10)
SPROUT_NETNS_MPIRUN_ARGS="--mca btl_base_verbose 100" mrun 4 "${TRAIN[@]}" --train.steps 30
expect_rc 0 "training with growth on 2 nodes x 2 ranks"
[[ $(last_json world_size) == 4 && $(last_json widths) == '{"fc1": 80}' ]] && pass "4 ranks, fc1 grown 64 -> 80" \
  || fail "world size $(last_json world_size), widths $(last_json widths)"
# Open MPI picks a transport per peer when it first talks to it ("Using <btl> btl for send
# to <rank> on node <node>"): TCP exactly for the other node, shared memory (vader) inside.
btl_lines=$(grep -E "^\[sprtest-n[12]:[0-9]+\] mca: bml: Using [a-z]+ btl for send to .* on node " "$WORK/err" |
  sed -E 's/^\[sprtest-n([12]):.* Using ([a-z]+) btl .* on node (sprtest-n|10\.213\.77\.1)([12])$/\1 \2 \4/')
tcp_between=$(awk '$2 == "tcp" && $1 != $3' <<<"$btl_lines" | wc -l)
vader_inside=$(awk '$2 == "vader" && $1 == $3' <<<"$btl_lines" | wc -l)
wrong=$(awk '!(($2 == "tcp" && $1 != $3) || ($2 == "vader" && $1 == $3) || $2 == "self")' <<<"$btl_lines" | wc -l)
((tcp_between >= 2 && vader_inside >= 2 && wrong == 0)) \
  && pass "TCP BTL between nodes ($tcp_between rank pairs), vader inside a node ($vader_inside)" \
  || fail "BTL choice: tcp between $tcp_between, vader inside $vader_inside, other $wrong: $btl_lines"
grep -qE "\[$N2:[0-9]+\] btl:tcp: now connected to 10\.213\.77\.11" "$WORK/err" \
  && pass "node 2's ranks connected to node 1 over the cluster network" || fail "no TCP connection in the verbose output"

# 2. Its checkpoint (shared file system) restored on 1 node of 2 ranks.
mrun 2 "${TRAIN[@]}" --train.steps 40 --resume auto
expect_rc 0 "resume on 1 node x 2 ranks"
grep -q "resumed from $CK/step-00000030.h5.* (written by 4 ranks, restored on 2)" "$WORK/out" \
  && pass "resumed the 4-rank checkpoint on 2 ranks" || fail "no resume line"
[[ $(last_json step) == 40 && $(last_json world_size) == 2 ]] \
  && pass "continued to step 40 on node 1 alone" || fail "step $(last_json step), world $(last_json world_size)"

# 3. A collective merge: fedcl with one node group per node.
mrun 4 fedcl --data.name synthetic --data.synthetic_train 1024 --data.synthetic_test 256 --model.widths 32 \
  --train.batch 16 --fedcl.steps 20 --fedcl.warmup_steps 0 --fedcl.nodes 2 --fedcl.report "$WORK/fedcl"
expect_rc 0 "fedcl, 2 node groups on 2 nodes"
$PY -c "import json,sys; r=json.load(open('$WORK/fedcl.json')); sys.exit(0 if r['rounds'][-1]['seen']==list(range(5)) and 'magmax' in r['models'] else 1)" \
  && pass "fedcl report covers every task and the MagMax merge" || fail "fedcl report"

# 4. Network faults with the job mid-step. newest_complete DIR: step of the newest checkpoint.
newest_complete() { ls "$1" | grep -E '^step-[0-9]+\.h5$' | sort | tail -n 1 | sed -E 's/^step-0*([0-9]+).*/\1/'; }
FAULT=(train --train.steps 100 --train.batch 32 --model.widths 64 --train.log_every 5 --log.progress lines
       --checkpoint.every 25 --checkpoint.keep 0 --runtime.timeout $TIMEOUT)
for fault in partition node-loss blip; do
  dir=$WORK/ck-$fault
  E2E_TIMEOUT=150 mrun 4 "${FAULT[@]}" --checkpoint.dir "$dir" &
  launcher=$!
  for _ in $(seq 1 600); do [[ -f $dir/latest ]] && break; sleep 0.1; done
  start=$SECONDS
  case $fault in
    partition) ip link set sprtest-v2 down ;;
    node-loss) kill -9 $(ip netns pids $N2) 2>/dev/null ;;
    blip)      ip link set sprtest-v2 down; sleep 1; ip link set sprtest-v2 up ;;
  esac
  wait $launcher; RC=$?; took=$((SECONDS - start))
  [[ $fault == partition ]] && ip link set sprtest-v2 up
  cp "$WORK/err" "$WORK/err-$fault"
  # A 1 s outage is usually survived (TCP retransmits), but Open MPI's daemons can declare
  # the remote daemon lost during it ("ORTE has lost communication with a remote daemon"):
  # then the job must end like the other faults — within the bound, checkpoints complete,
  # resumable. Either way no rank waits forever.
  if [[ $fault == blip && $RC -eq 0 ]]; then
    pass "1 s link outage on node 2: the job survives"
    [[ $(last_json step) == 100 ]] && pass "blip: all 100 steps" || fail "blip: step $(last_json step)"
    continue
  fi
  [[ $RC -ne 0 && $RC -ne 124 ]] && pass "$fault: the job ends (status $RC)" || fail "$fault: status $RC"
  ((took <= TIMEOUT + BOUND)) && pass "$fault: ended in $took s (bound $TIMEOUT + $BOUND s)" || fail "$fault: took $took s"
  case $fault in
    partition) grep -qE "sprout: rank [01]: timed out after $TIMEOUT s waiting in .*\(step [0-9]+\)" "$WORK/err" \
                 && pass "partition: a rank of node 1 names the collective it lost its peers in" || fail "partition: no timeout message" ;;
    # Open MPI words a lost node in one of two ways, depending on whether it notices the
    # ranks' TCP peer or the node's daemon go first: "Peer host: <address>" (naming the
    # node), or "An ORTE daemon has unexpectedly failed" (naming no node). Either is a
    # message about the loss; a job that ends silently fails here.
    node-loss) grep -qE "$N2|10\.213\.77\.12|ORTE daemon has unexpectedly failed|ORTE was unable to reliably start" "$WORK/err" \
                 && pass "node-loss: Open MPI reports the lost node or its daemon" || fail "node-loss: no message" ;;
    blip)      grep -qE "ORTE has lost communication with a remote daemon|10\.213\.77\.12|$N2" "$WORK/err" \
                 && pass "blip: the job ended with Open MPI's lost-daemon message" || fail "blip: ended with no message" ;;
  esac
  bad=0
  for f in "$dir"/step-*.h5; do [[ -e $f ]] || continue; "$SPROUT_BIN" inspect "$f" >/dev/null 2>&1 || bad=1; done
  ((bad == 0)) && pass "$fault: every committed checkpoint is complete" || fail "$fault: a committed checkpoint is damaged"
  from=$(newest_complete "$dir")
  node1_run 2 "${FAULT[@]}" --checkpoint.dir "$dir" --resume auto
  expect_rc 0 "$fault: --resume auto on the surviving node (2 ranks)"
  grep -q "resumed from $dir/step-0*$from.h5.* (written by 4 ranks, restored on 2)" "$WORK/out" \
    && pass "$fault: resumed from the newest checkpoint (step $from)" || fail "$fault: not resumed from step '$from'"
  [[ $(last_json step) == 100 ]] && pass "$fault: continued to step 100" || fail "$fault: step $(last_json step)"
done

"$NC/down.sh" >/dev/null
[[ $(ip netns list | grep -c '^sprtest-') == 0 ]] && ! ip link show sprtest-br >/dev/null 2>&1 \
  && pass "down.sh removed the namespaces and the bridge" || fail "left behind: $(ip netns list)"
finish
