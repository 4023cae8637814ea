#!/usr/bin/env bash
# `sprout bench calibrate` across 2 "nodes" that are network namespaces of this machine
# (cluster/netns-cluster/): with 2 ranks per node it finds the 2 nodes (MPI_COMM_TYPE_SHARED),
# measures the link inside rank 0's node and the one to the other node (TCP over the
# namespaces' bridge) separately and writes both, with the allreduce per size of the ring
# and the hierarchical algorithm; `sprout plan` then reports the measured link between
# nodes. The cluster is removed at the end, also on failure. Skips (status 77) only where
# namespaces cannot be created.
source "$(dirname "$0")/../e2e/lib.sh"
NC=$SPROUT_SOURCE_DIR/cluster/netns-cluster
export SPROUT_NETNS_PREFIX=sprcal SPROUT_NETNS_SUBNET=10.213.79  # apart from the other cluster tests
export PATH=/usr/sbin:/sbin:$PATH

if ! ip netns add sprcal-probe 2>"$WORK/probe.err"; then
  echo "SKIP: network namespaces cannot be created here: $(head -n 1 "$WORK/probe.err")"; exit 77
fi
ip netns del sprcal-probe
trap '"$NC/down.sh" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
"$NC/up.sh" 2 >"$WORK/up" 2>&1; RC=$?
expect_rc 0 "up.sh 2"

CAL=$WORK/tcp.json
timeout --kill-after=10 120 "$NC/mpirun.sh" -np 4 "$SPROUT_BIN" bench calibrate --out "$CAL" \
  --arch "kind=mlp;in=1x28x28;classes=10;widths=16" --batch 8 --steps 2 --warmup 1 --max_bytes 16384 --reps 1 \
  --checkpoint_mb 1 --dir "$WORK" >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 0 "bench calibrate on 2 nodes x 2 ranks"
$PY - "$CAL" <<'PYEOF' && pass "2 nodes of 2 found; both links measured, separately; hierarchical timed per size" \
  || fail "calibration: $(cat "$CAL")"
import json, sys
c = json.load(open(sys.argv[1])); n = c["links"]["node"]; b = c["links"]["between"]
ok = c["ranks"] == 4 and c["nodes"] == {"count": 2, "ranks_per_node": 2, "split": "MPI_COMM_TYPE_SHARED"} and \
     n["source"].startswith("measured: ping-pong rank 0 <-> 1 on its node") and \
     b["source"].startswith("measured: ping-pong rank 0 <-> 2 on another node") and \
     min(n["alpha_s"], n["beta_s_per_byte"], b["alpha_s"], b["beta_s_per_byte"]) > 0 and \
     all(r["hierarchical_allreduce_s"] > 0 for r in c["collectives"])
print("inside: %.1f us + %.3g GB/s; between: %.1f us + %.3g GB/s" % (n["alpha_s"] * 1e6, 1e-9 / n["beta_s_per_byte"],
      b["alpha_s"] * 1e6, 1e-9 / b["beta_s_per_byte"]))
sys.exit(0 if ok else 1)
PYEOF
run 1 plan --plan.calibration "$CAL" --model.widths 32 --plan.max_ranks 8 --plan.ranks_per_node 2 --plan.memory_gb 4
expect_rc 0 "plan from the 2-node calibration"
grep -q "on 4 ranks in 2 nodes.*between nodes .*(measured: ping-pong rank 0 <-> 2 on another node" "$WORK/out" \
  && pass "plan reports the measured link between nodes" || fail "plan header: $(grep calibration "$WORK/out")"
finish
