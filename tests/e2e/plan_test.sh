#!/usr/bin/env bash
# `sprout bench calibrate`, `sprout plan` and runtime.allreduce through the CLI:
# calibrate writes a calibration file; plan prints the per-width memory (peak marked) and
# the step table for N = 1 … 1024, writes its CSV and PNG, and refuses a plan that cannot
# fit (and bad options) with one line and status 2; training with
# runtime.allreduce=hierarchical and =scattered log the same losses, bit for bit, as the ring
# on 2 ranks (one node of two: the sum order coincides) and close ones on 4 ranks in 2 faked
# nodes, where scattered's equal hierarchical's bitwise (the same node-order sum).
# Calibrate finds the nodes: on one node the file says so (the link between nodes is the
# default, marked), across 2 faked nodes it measures that link, and plan reports and uses it
# (plan.between_* override it). runtime.calibration makes auto cost buckets on a file's
# links: a slow network picks scattered, a fast one the ring — losses bitwise equal to
# that algorithm's — and a missing or malformed file is one line, status 2.
source "$(dirname "$0")/lib.sh"

# 1. Calibration (small and quick: the numbers only need to be there).
CAL="$WORK/cal.json"
run 2 bench calibrate --out "$CAL" --arch "kind=mlp;in=1x28x28;classes=10;widths=64" --batch 16 --steps 2 --warmup 1 \
  --max_bytes 65536 --reps 1 --checkpoint_mb 2 --dir "$WORK"
expect_rc 0 "bench calibrate on 2 ranks"
$PY - "$CAL" <<'PYEOF' && pass "calibration has compute (wall and CPU time, cores, the engine's copy and reduction CPU, the trainer's own work), links, collectives, checkpoint" || fail "calibration file incomplete"
import json, sys
c = json.load(open(sys.argv[1]))
cpu = c["compute"]
ok = c["compute"]["seconds_per_example"] > 0 and c["links"]["node"]["beta_s_per_byte"] > 0 and \
     cpu["cpu_seconds_per_example"] > 0 and cpu["sgd_update_cpu_s_per_element"] > 0 and cpu["cores"] >= 1 and \
     cpu["reduction_cpu_s_per_byte"] > 0 and cpu["bucket_copy_cpu_s_per_byte"] > 0 and cpu["bucket_mb"] == 25 and \
     all(cpu[k] >= 0 for k in ("trainer_s_per_batch", "trainer_s_per_example", "trainer_cpu_s_per_batch",
                               "trainer_cpu_s_per_example")) and \
     cpu["trainer_source"].startswith("measured: Trainer::train_step") and \
     c["links"]["node"]["source"].startswith("measured") and len(c["collectives"]) >= 2 and \
     all(r["ring_allreduce_s"] > 0 and r["hierarchical_allreduce_s"] > 0 and r["scattered_allreduce_s"] > 0
         for r in c["collectives"]) and \
     c["checkpoint_write_bytes_per_s"] > 0 and c["nodes"]["count"] == 1 and c["nodes"]["ranks_per_node"] == 2 and \
     c["links"]["between"]["source"].startswith("default (one node")
sys.exit(0 if ok else 1)
PYEOF
grep -q "on 1 node.*between nodes 20.00 us + 1.25 GB/s (default (one node" "$WORK/out" \
  && pass "one node: the between-node link is the default, said so" || fail "one-node calibration line"

# 1b. Two faked nodes of one rank: the link between them is measured (here shared memory).
CAL2="$WORK/cal2.json"
run 2 bench calibrate --out "$CAL2" --arch "kind=mlp;in=1x28x28;classes=10;widths=64" --batch 16 --steps 2 --warmup 1 \
  --max_bytes 65536 --reps 1 --checkpoint_mb 2 --dir "$WORK" --ranks_per_node 1
expect_rc 0 "bench calibrate on 2 nodes of 1 rank"
$PY - "$CAL2" <<'PYEOF' && pass "2 nodes: count, split and a measured link between nodes" || fail "2-node calibration: $(cat "$CAL2")"
import json, sys
c = json.load(open(sys.argv[1])); b = c["links"]["between"]
ok = c["nodes"]["count"] == 2 and c["nodes"]["ranks_per_node"] == 1 and c["nodes"]["split"].startswith("blocks of 1") and \
     b["source"].startswith("measured: ping-pong rank 0 <-> 1 on another node") and b["alpha_s"] > 0 and \
     b["beta_s_per_byte"] > 0 and (b["alpha_s"], b["beta_s_per_byte"]) != (20e-6, 8 / 10e9) and \
     c["links"]["node"]["source"].startswith("default (no second rank")
sys.exit(0 if ok else 1)
PYEOF
run 1 plan --plan.calibration "$CAL2" --model.widths 32 --plan.max_ranks 8 --plan.memory_gb 4
expect_rc 0 "plan from the 2-node calibration"
grep -q "in 2 nodes.*between nodes .*(measured: ping-pong rank 0 <-> 1 on another node" "$WORK/out" \
  && pass "plan uses the measured link between nodes" || fail "plan does not report the measured link"
run 1 plan --plan.calibration "$CAL2" --model.widths 32 --plan.max_ranks 8 --plan.memory_gb 4 --plan.between_alpha_us 5000
grep -q "between nodes 5000.00 us .*(input: --plan.between_alpha_us (else measured" "$WORK/out" \
  && pass "plan.between_alpha_us overrides the calibration's latency" || fail "no override in the plan's header"

# 2. A plan: every width of the schedule, the peak marked; N = 1 .. 1024; CSV and PNG.
PLAN=(plan --plan.calibration "$CAL" --model.widths 32,32 --growth.event 5:fc1:+96 --train.batch 16
      --optim.name adamw --optim.shard state --plan.ranks_per_node 4 --plan.memory_gb 4)
run 1 "${PLAN[@]}" --plan.out "$WORK/plan"
expect_rc 0 "plan with a growth schedule"
grep -q "784-128-32-10.*<- peak" "$WORK/out" && pass "the grown width is the peak" || fail "no peak mark on the grown width"
grep -q "up to the largest tensor (0.40 MB here)" "$WORK/out" \
  && pass "the note on the heap names the largest tensor of any width (fc1 of 784-128: 0.40 MB)" || fail "no heap note"
rows=$(grep -cE "^ +[0-9]+ +[0-9]+ +[0-9.]+ +yes" "$WORK/out")
[[ $rows -eq 11 ]] && pass "11 rows, N = 1 .. 1024" || fail "$rows rows in the step table"
[[ -s "$WORK/plan.csv" && -s "$WORK/plan.png" ]] && pass "CSV and PNG written" || fail "plan.csv / plan.png missing"
grep -q "^# runtime.allreduce=auto per bucket size" "$WORK/out" && grep -qE "^  N=1024 +.*(scattered|ring)" "$WORK/out" \
  && pass "auto's choice per bucket size reported" || fail "no section on auto's choice"
$PY - "$WORK/plan.csv" <<'PYEOF' && pass "every algorithm's step = compute + trainer + update + engine + exposed + ...; the engine's CPU from N = 2 on" \
  || fail "plan.csv: a step is not the sum of its terms, or the engine column is wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def parts(r): return sum(float(r[k]) for k in ("compute_s", "trainer_s", "update_s", "allgather_s", "checkpoint_s"))
algs = ("ring", "recursive_doubling", "hierarchical", "scattered")
comm = lambda r, a: float(r["engine_s_" + a]) + float(r["exposed_s_" + a])
ok = all(abs(float(r["step_s_" + a]) - parts(r) - comm(r, a)) <= 1e-4 * float(r["step_s_" + a])  # 6 digits in the CSV
         for r in rows for a in algs) and any(comm(r, "scattered") != comm(r, "hierarchical") for r in rows) and \
     all((float(r["engine_s_ring"]) > 0) == (int(r["ranks"]) > 1) for r in rows) and \
     all(float(r["bucket_copy_cpu_s"]) > 0 and float(r["reduction_cpu_s"]) > 0 for r in rows if int(r["ranks"]) > 1)
sys.exit(0 if ok else 1)
PYEOF

# 2b. The trainer's own work: a calibration with hand-set figures (CPU 0.1 ms per batch + 20 us
# per example, 2 cores, 1 thread) gives 0.1 + 16 × 0.02 = 0.42 ms of CPU per step; the
# wall-clock column is that over the core share (a core at N = 1, half a core at 4 ranks per
# node), and every row's step is the sum of its terms. A file without them plans with 0 and says so.
trainer_file() {  # trainer_file OUT CPU_PER_EXAMPLE WALL_PER_EXAMPLE ("drop": without the keys)
  $PY - "$CAL" "$@" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); out, cpu, wall = sys.argv[2:5]
c["compute"].update(cores=2, threads=1)
for k in ("trainer_cpu_s_per_batch", "trainer_cpu_s_per_example", "trainer_s_per_batch", "trainer_s_per_example",
          "trainer_source"):
    c["compute"].pop(k)
if cpu != "drop":
    c["compute"].update(trainer_cpu_s_per_batch=1e-4, trainer_cpu_s_per_example=float(cpu), trainer_s_per_batch=2e-4,
                        trainer_s_per_example=float(wall), trainer_source="hand-set")
open(out, "w").write(json.dumps(c).replace("Infinity", "1e999"))
PYEOF
}
trainer_file "$WORK/cal_t.json" 20e-6 50e-6
run 1 plan --plan.calibration "$WORK/cal_t.json" --model.widths 32 --train.batch 16 --plan.ranks_per_node 4 \
  --plan.max_ranks 8 --plan.memory_gb 4 --plan.out "$WORK/plan_t"
expect_rc 0 "plan with the trainer's own work"
grep -q "^# the trainer's own work per step.*0.1 ms CPU per batch + 0.02 ms per example (hand-set)" "$WORK/out" \
  && pass "plan reports the trainer's term and its source" || fail "no trainer line in the plan's header"
$PY - "$WORK/plan_t.csv" <<'PYEOF' && pass "trainer column: 0.42 ms CPU, its wall over the core share; step = sum of its terms" \
  || fail "plan_t.csv: trainer column or step sum wrong"
import csv, sys
rows = {int(r["ranks"]): r for r in csv.DictReader(open(sys.argv[1]))}
near = lambda a, b: abs(float(a) - b) <= 1e-5 * b
terms = ("compute_s", "trainer_s", "update_s", "allgather_s", "checkpoint_s", "engine_s_ring", "exposed_s_ring")
ok = near(rows[1]["trainer_cpu_s"], 0.42e-3) and near(rows[1]["trainer_s"], 0.42e-3) and \
     near(rows[8]["trainer_cpu_s"], 0.42e-3) and near(rows[8]["trainer_s"], 0.84e-3) and \
     all(near(r["step_s_ring"], sum(float(r[k]) for k in terms)) for r in rows.values())
sys.exit(0 if ok else 1)
PYEOF
# plan.cores_per_node: nodes of 1 core instead of the calibration's 2 give the 4 ranks of a
# node a quarter of a core each, twice the wall-clock time of the trainer's 0.42 ms CPU.
run 1 plan --plan.calibration "$WORK/cal_t.json" --model.widths 32 --train.batch 16 --plan.ranks_per_node 4 \
  --plan.max_ranks 8 --plan.memory_gb 4 --plan.out "$WORK/plan_c" --plan.cores_per_node 1
expect_rc 0 "plan with plan.cores_per_node 1"
$PY -c "import csv,sys; r = {int(x['ranks']): x for x in csv.DictReader(open(sys.argv[1]))}
sys.exit(0 if abs(float(r[8]['trainer_s']) - 1.68e-3) <= 1e-8 and abs(float(r[1]['trainer_s']) - 0.42e-3) <= 1e-8 else 1)" \
  "$WORK/plan_c.csv" && grep -q "on a node of 1 cores, plan.cores_per_node" "$WORK/out" \
  && pass "plan.cores_per_node sets the cores the ranks share, said in the header" || fail "plan.cores_per_node"
run 1 plan --plan.calibration "$WORK/cal_t.json" --model.widths 32 --plan.cores_per_node 70000
expect_rc 2 "plan.cores_per_node=70000"; expect_err "--plan.cores_per_node: 70000 must be in [0, 65536]" "named"
trainer_file "$WORK/cal_old.json" drop drop
run 1 plan --plan.calibration "$WORK/cal_old.json" --model.widths 32 --train.batch 16 --plan.max_ranks 2 \
  --plan.memory_gb 4 --plan.out "$WORK/plan_old"
expect_rc 0 "plan from a calibration without the trainer's figures"
grep -q "^# the trainer's own work per step.*0 ms CPU per batch + 0 ms per example (not in this calibration" "$WORK/out" \
  && $PY -c "import csv,sys; sys.exit(0 if all(float(r['trainer_s']) == 0 for r in csv.DictReader(open(sys.argv[1]))) else 1)" \
       "$WORK/plan_old.csv" && pass "an older calibration: the term is 0, said so" || fail "older calibration's trainer term"
trainer_file "$WORK/cal_bad.json" -1e-6 50e-6
run 1 plan --plan.calibration "$WORK/cal_bad.json" --model.widths 32
expect_rc 2 "a calibration with a negative trainer_cpu_s_per_example"
expect_err "cal_bad.json' has compute.trainer_cpu_s_per_example negative or not finite: -1e-06" "named"
trainer_file "$WORK/cal_bad.json" 20e-6 inf  # written as 1e999: the JSON reader refuses the overflow
run 1 plan --plan.calibration "$WORK/cal_bad.json" --model.widths 32
expect_rc 2 "a calibration with an infinite trainer_s_per_example"
expect_err "cal_bad.json' is not a calibration file: [json.exception.out_of_range.406] number overflow" "named"

# 3. Refusals: one line, status 2.
run 2 bench calibrate --batch 0 --out "$WORK/never.json"
expect_rc 2 "calibrate --batch 0"; expect_err "--batch: 0 must be in [1, 1000000]" "named"
run 1 bench calibrate --bucket_mb 0 --out "$WORK/never.json"
expect_rc 2 "calibrate --bucket_mb 0"; expect_err "--bucket_mb: 0 must be in (0, 4096]" "named"
run 1 bench calibrate --arch "kind=mlp;widths=0" --out "$WORK/never.json"
expect_rc 2 "calibrate with a bad model"; expect_err "widths" "named"
run 1 "${PLAN[@]}" --plan.memory_gb 0.0001
expect_rc 2 "a plan that does not fit"; expect_err "lower train.batch" "it names what to change"
run 1 "${PLAN[@]}" --plan.max_ranks 0
expect_rc 2 "plan.max_ranks=0"; expect_err "--plan.max_ranks: 0 must be in [1, 65536]" "named"
run 1 plan --model.widths 32
expect_rc 2 "no calibration"; expect_err "--plan.calibration: required" "named"
echo '{"host": "x"}' > "$WORK/bad.json"
run 1 plan --plan.calibration "$WORK/bad.json"
expect_rc 2 "a malformed calibration"; expect_err "bad.json" "named"
run 2 train --data.name synthetic --train.steps 2 --runtime.allreduce tree
expect_rc 2 "runtime.allreduce=tree"; expect_err "--runtime.allreduce must be auto, ring, hierarchical, scattered or mpi, got 'tree'" "named"
run 2 train --data.name synthetic --train.steps 2 --runtime.ranks_per_node -1
expect_rc 2 "runtime.ranks_per_node=-1"; expect_err "--runtime.ranks_per_node: -1" "named"
run 1 plan --plan.calibration "$CAL2" --model.widths 32 --plan.between_gbps -1
expect_rc 2 "plan.between_gbps=-1"; expect_err "--plan.between_gbps: -1 must be in [0, 1e9)" "named"
run 2 train --data.name synthetic --train.steps 2 --runtime.calibration "$WORK/none.json"
expect_rc 2 "runtime.calibration missing"; expect_err "--runtime.calibration: cannot read '$WORK/none.json'" "named"
# A directory and a FIFO (which would block every rank at open) are refused before they are read.
run 2 train --data.name synthetic --train.steps 2 --runtime.calibration "$WORK"
expect_rc 2 "runtime.calibration a directory"; expect_err "--runtime.calibration: cannot read '$WORK': it is a directory" "named"
mkfifo "$WORK/cal.fifo"
E2E_TIMEOUT=30 run 2 train --data.name synthetic --train.steps 2 --runtime.calibration "$WORK/cal.fifo"
expect_rc 2 "runtime.calibration a FIFO"; expect_err "--runtime.calibration: cannot read '$WORK/cal.fifo': it is a FIFO" "named"
# links_file OUT NODE_ALPHA NODE_BETA BETWEEN_ALPHA BETWEEN_BETA: the calibration with other links.
links_file() {
  $PY - "$CAL" "$@" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); a = [float(x) for x in sys.argv[3:]]
c["links"]["node"].update(alpha_s=a[0], beta_s_per_byte=a[1]); c["links"]["between"].update(alpha_s=a[2], beta_s_per_byte=a[3])
json.dump(c, open(sys.argv[2], "w"))
PYEOF
}
links_file "$WORK/negative.json" 1e-6 1e-9 -1e-3 1e-9
run 2 train --data.name synthetic --train.steps 2 --runtime.calibration "$WORK/negative.json"
expect_rc 2 "runtime.calibration with a negative latency"; expect_err "negative.json' has a link whose alpha_s" "named"

# 4. Hierarchical and scattered against the ring: bitwise on one node of 2 ranks, close on 2
# nodes of 2 (where scattered sums in hierarchical's node order: bitwise equal to it).
TRAIN=(train --data.name synthetic --train.steps 6 --train.batch 16 --model.widths 200,64 --train.log_every 1
       --log.progress none --runtime.ranks_per_node 2)
for spec in "2 ring" "2 hierarchical" "2 scattered" "4 ring" "4 hierarchical" "4 scattered"; do
  set -- $spec
  run $1 "${TRAIN[@]}" --runtime.allreduce $2 --log.metrics "$WORK/m_$1_$2.jsonl"
  expect_rc 0 "$1 ranks, runtime.allreduce=$2"
done
losses() { $PY -c "import json,sys; print(' '.join(repr(json.loads(l)['train_loss']) for l in open(sys.argv[1]) if '\"train_loss\"' in l))" "$1"; }
a=$(losses "$WORK/m_2_ring.jsonl"); b=$(losses "$WORK/m_2_hierarchical.jsonl")
[[ -n "$a" && "$a" == "$b" ]] && pass "2 ranks: hierarchical losses = ring losses, bitwise ($a)" || fail "2 ranks: '$a' vs '$b'"
b=$(losses "$WORK/m_2_scattered.jsonl")
[[ -n "$a" && "$a" == "$b" ]] && pass "2 ranks: scattered losses = ring losses, bitwise" || fail "2 ranks scattered: '$a' vs '$b'"
a=$(losses "$WORK/m_4_hierarchical.jsonl"); b=$(losses "$WORK/m_4_scattered.jsonl")
[[ -n "$a" && "$a" == "$b" ]] && pass "4 ranks in 2 nodes: scattered losses = hierarchical's (node-order sum), bitwise" \
  || fail "4 ranks: scattered '$b' vs hierarchical '$a'"
$PY - "$(losses "$WORK/m_4_ring.jsonl")" "$(losses "$WORK/m_4_hierarchical.jsonl")" <<'PYEOF' &&
import sys
a, b = [list(map(float, s.split())) for s in sys.argv[1:]]
print("4 ranks ring:", a, "hierarchical:", b)
sys.exit(0 if a and len(a) == len(b) and all(abs(x - y) <= 1e-4 * abs(x) for x, y in zip(a, b)) else 1)
PYEOF
  pass "4 ranks in 2 nodes: hierarchical losses within 1e-4 of the ring's" || fail "4 ranks: losses differ"
$PY - "$(losses "$WORK/m_4_ring.jsonl")" "$(losses "$WORK/m_4_scattered.jsonl")" <<'PYEOF' &&
import sys
a, b = [list(map(float, s.split())) for s in sys.argv[1:]]
sys.exit(0 if a and len(a) == len(b) and all(abs(x - y) <= 1e-4 * abs(x) for x, y in zip(a, b)) else 1)
PYEOF
  pass "4 ranks in 2 nodes: scattered losses within 1e-4 of the ring's" || fail "4 ranks: scattered losses differ"
run 2 train --data.name synthetic --train.steps 2 --runtime.allreduce Scattered
expect_rc 2 "runtime.allreduce=Scattered"; expect_err "--runtime.allreduce must be auto, ring, hierarchical, scattered or mpi, got 'Scattered'" "named"

# 5. auto on a calibration's links, 4 ranks in 2 faked nodes: a 5 ms network makes every
# bucket of this model (< 1 MiB) scattered (ring 30 ms + 1.5·b ns against scattered
# 5.002 ms + 2·b ns: crossover 50 MB, 64 MiB as a power of two), a network as fast as
# shared memory (1 µs, 1 ns/B) the ring (scattered only below 6000 B: 8 KiB).
links_file "$WORK/slow.json" 1e-6 1e-9 5e-3 1e-9
links_file "$WORK/fast.json" 1e-6 1e-9 1e-6 1e-9
for net in slow fast; do
  run 4 "${TRAIN[@]}" --runtime.allreduce auto --runtime.calibration "$WORK/$net.json" --log.metrics "$WORK/m_4_$net.jsonl"
  expect_rc 0 "4 ranks, auto on the $net links"
  cp "$WORK/out" "$WORK/out_$net"
done
[[ $(grep -c "^runtime.allreduce=auto: 2 nodes of up to 2 ranks, links of $WORK/slow.json (between nodes 5000.00 us" "$WORK/out_slow") == 1 ]] \
  && grep -q ": scattered below 64 MiB, ring from there on" "$WORK/out_slow" && pass "auto's choice logged once: scattered below 64 MiB" \
  || fail "auto's log line (slow): $(grep auto "$WORK/out_slow")"
grep -q "^runtime.allreduce=auto: .*fast.json.*: scattered below 8 KiB, ring from there on" "$WORK/out_fast" \
  && pass "auto's choice logged: the ring from 8 KiB" || fail "auto's log line (fast): $(grep auto "$WORK/out_fast")"
a=$(losses "$WORK/m_4_slow.jsonl"); b=$(losses "$WORK/m_4_scattered.jsonl")
[[ -n "$a" && "$a" == "$b" ]] && pass "slow network: auto's losses = scattered's, bitwise" || fail "slow: '$a' vs '$b'"
a=$(losses "$WORK/m_4_fast.jsonl"); b=$(losses "$WORK/m_4_ring.jsonl")
[[ -n "$a" && "$a" == "$b" ]] && pass "fast network: auto's losses = the ring's, bitwise" || fail "fast: '$a' vs '$b'"
[[ "$(losses "$WORK/m_4_ring.jsonl")" != "$(losses "$WORK/m_4_hierarchical.jsonl")" ]] \
  && pass "ring and hierarchical differ in the last bits on 4 ranks (the comparison can fail)" \
  || echo "note: ring and hierarchical losses coincide here; the bitwise checks above cannot tell them apart"
finish
