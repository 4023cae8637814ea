#!/usr/bin/env bash
# `sprout fedcl` with virtual clients, on the synthetic dataset: the weighted average equals
# a numpy reference over the saved client models; a FedAvg round with one client equals
# plain `sprout train` for the same steps (data-parallel on 2 ranks); the same seed gives
# the same client sample and split on 1 and 3 ranks; 100 clients run on 4 ranks; the bytes
# accounting; FedProx pulls the clients towards the global model; bad values end with one
# line and status 2 on every rank.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
SYN=(--data.name synthetic --data.synthetic_train 2048 --data.synthetic_test 512 --model.widths 32
     --train.batch 16 --optim.lr 0.05 --fedcl.steps 20 --fedcl.warmup_steps 0 --fedcl.baselines false)

# Weighted average (FedAvg's merge) against numpy: 3 tasks of 3, 3 and 4 classes on 3 clients
# in 2 node groups (group 0 pre-reduces two clients).
run 2 fedcl "${SYN[@]}" --fedcl.nodes 2 --fedcl.clients 3 --fedcl.tasks 3 --fedcl.rounds 1 --fedcl.methods average \
  --fedcl.save_dir wa --fedcl.report "$WORK/wa"
expect_rc 0 "fedcl: 3 clients on 2 node groups, weighted average"
$PY - "$WORK/wa.json" <<'PYEOF' && pass "weighted average equals the numpy reference" || fail "weighted average vs numpy"
import json, sys, h5py, numpy as np
r = json.load(open(sys.argv[1])); rd = r["rounds"][0]
assert rd["sampled"] == [0, 1, 2], rd["sampled"]
w = np.array(rd["examples"], dtype=np.float64)
assert len(set(w)) > 1, w  # unequal weights, or the test could not tell weighted from plain
base = h5py.File("wa/base.h5"); experts = [h5py.File(f"wa/round-1/expert-task-{t}.h5") for t in range(3)]
merged = h5py.File("wa/round-1/average.h5")
for name in ["model/fc1/weight", "model/fc1/bias", "model/fc2/weight", "model/fc2/bias"]:
    b = base[name][()].astype(np.float64)
    want = b + sum(wi / w.sum() * (e[name][()].astype(np.float64) - b) for wi, e in zip(w, experts))
    plain = b + sum((e[name][()].astype(np.float64) - b) / 3 for e in experts)
    got = merged[name][()].astype(np.float64)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6), (name, np.abs(got - want).max())
    assert not np.allclose(got, plain, rtol=1e-5, atol=1e-6) or name.endswith("bias"), name
PYEOF

# FedAvg with one client for one round is plain training: same data, steps and seed
# (Fashion-MNIST: the synthetic set's examples depend on train.seed, which differs here).
FM=(--data.name fashion-mnist --model.widths 32 --train.batch 16 --optim.lr 0.05)
run 2 fedcl "${FM[@]}" --fedcl.steps 20 --fedcl.warmup_steps 0 --fedcl.baselines false --fedcl.nodes 1 --fedcl.clients 1 --fedcl.split iid --fedcl.tasks 1 --fedcl.init global \
  --fedcl.methods average --fedcl.save_dir g --train.seed 3 --fedcl.report ""
expect_rc 0 "fedcl: FedAvg, one client on 2 ranks"
SEED=$((3 * 1000003 + 101 + 5))
run 2 train "${FM[@]}" --train.steps 20 --train.seed $SEED --init.from g/base.h5 --checkpoint.dir plain \
  --checkpoint.at_end true --log.progress none
expect_rc 0 "plain sprout train from the same base"
$PY - <<'PYEOF' && pass "one-client FedAvg round == plain training, bit for bit" || fail "one-client round vs plain training"
import h5py, numpy as np
a, b = h5py.File("g/round-1/average.h5"), h5py.File("plain/step-00000020.h5")
base = h5py.File("g/base.h5")
for name in ["model/fc1/weight", "model/fc1/bias", "model/fc2/weight", "model/fc2/bias"]:
    assert np.array_equal(a[name][()], b[name][()]), name
    assert not np.array_equal(a[name][()], base[name][()]), name  # it trained
PYEOF

# Same seed, same sample and split on 1 and 3 ranks; bytes accounting.
CL=(--fedcl.clients 12 --fedcl.sample 0.5 --fedcl.split dirichlet --fedcl.alpha 0.3 --fedcl.steps 5 --train.batch 8
    --fedcl.methods magmax,ties)
run 1 fedcl "${SYN[@]}" "${CL[@]}" --fedcl.nodes 1 --fedcl.report "$WORK/w1"; expect_rc 0 "12 clients on 1 rank"
run 3 fedcl "${SYN[@]}" "${CL[@]}" --fedcl.nodes 3 --fedcl.report "$WORK/w3"; expect_rc 0 "12 clients on 3 ranks"
$PY - "$WORK/w1.json" "$WORK/w3.json" <<'PYEOF' && pass "same sample, split and accounting on 1 and 3 ranks" || fail "world size changed the sample or split"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert len(a["rounds"]) == 5
seen = set()
mb = a["config"]["model_bytes"]
for x, y in zip(a["rounds"], b["rounds"]):
    for k in ("sampled", "examples", "split_hash", "upload_bytes", "download_bytes"):
        assert x[k] == y[k], (k, x[k], y[k])
    assert len(x["sampled"]) == 6 and all(n > 0 for n in x["examples"]), x
    new = [c for c in x["sampled"] if c not in seen]; seen |= set(x["sampled"])
    assert x["download_bytes"]["magmax"] == len(new) * mb, (x["download_bytes"], len(new), mb)  # θ0 once per client
    assert x["upload_bytes"]["magmax"] == 6 * mb and x["upload_bytes"]["ties"] < x["upload_bytes"]["magmax"] / 2
    for m in ("magmax", "ties"):
        acc = x["client_accuracy"][m]
        assert len(acc) == 12 and all(0 <= v <= 1 for v in acc), acc
        q = x["client_accuracy_quantiles"][m]
        assert q[0] == min(acc) and q[4] == max(acc) and q == sorted(q), q
    assert x["wall_s"] > 0
PYEOF
[[ $(wc -l <"$WORK/w3-rounds.csv") == 11 ]] && pass "rounds CSV: a row per method and round" || fail "rounds CSV"

# 100 clients on 4 ranks (4 node groups), 10 % sampled, FedAvg; a client's shard must hold a batch.
run 4 fedcl "${SYN[@]}" --data.synthetic_train 4096 --train.batch 4 --fedcl.steps 3 --fedcl.nodes 4 --fedcl.clients 100 \
  --fedcl.sample 0.1 --fedcl.split iid --fedcl.init global --fedcl.methods average --fedcl.report "$WORK/c100"
expect_rc 0 "100 clients on 4 ranks"
$PY -c "
import json; r = json.load(open('$WORK/c100.json'))
assert [len(x['sampled']) for x in r['rounds']] == [10] * 5
assert all(x['download_bytes']['average'] == 10 * r['config']['model_bytes'] for x in r['rounds'])" \
  && pass "100 clients: 10 sampled and trained per round, each downloads the global model" || fail "100 clients report"

# FedProx: a large μ keeps the clients, and so their average, near the round's start.
for mu in 0 2; do
  run 2 fedcl "${SYN[@]}" --fedcl.nodes 2 --fedcl.clients 4 --fedcl.split dirichlet --fedcl.alpha 0.1 --fedcl.tasks 1 \
    --fedcl.init global --fedcl.methods average --fedcl.prox_mu $mu --fedcl.report "$WORK/prox$mu"
  expect_rc 0 "FedProx mu=$mu"
done
$PY -c "
import json; d = [json.load(open(f'$WORK/prox{m}.json'))['summary']['average']['distance_from_base'] for m in (0, 2)]
assert d[1] < 0.7 * d[0], d" && pass "FedProx mu=2 moves less than mu=0" || fail "FedProx"

# Bad values: one line, status 2 (on 2 ranks: every rank ends; once on 1 rank).
run 1 fedcl "${SYN[@]}" --fedcl.nodes 1 --fedcl.sample 0; expect_rc 2 "sample 0 (1 rank)"
expect_err "--fedcl.sample: 0 must be in (0, 1]" "sample message (1 rank)"
run 2 fedcl "${SYN[@]}" --fedcl.nodes 1 --fedcl.sample 1.5; expect_rc 2 "sample 1.5"
expect_err "--fedcl.sample: 1.5 must be in (0, 1]" "sample message"
run 2 fedcl "${SYN[@]}" --fedcl.nodes 1 --fedcl.split dirichlet --fedcl.alpha 0; expect_rc 2 "alpha 0"
expect_err "--fedcl.alpha: 0 must be > 0" "alpha message"
run 2 fedcl "${SYN[@]}" --fedcl.nodes 2 --fedcl.clients 1 --fedcl.split iid; expect_rc 2 "1 client on 2 node groups"
expect_err "--fedcl.clients: 1 must be >= fedcl.nodes = 2" "clients < groups message"
# Found after the data is read (the shard size depends on it), still on every rank alike.
run 2 fedcl "${SYN[@]}" --fedcl.nodes 1 --fedcl.clients 1000 --fedcl.split iid; expect_rc 2 "1000 clients"
expect_err "clients leave 0 training examples to a client in round 1, fewer than one batch" "shard message"
finish
