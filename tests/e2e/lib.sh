# Shared helpers of the end-to-end tests (sourced). They drive the real binary under mpirun.
set -uo pipefail
: "${SPROUT_BIN:?SPROUT_BIN must point at the sprout binary}"
: "${SPROUT_SOURCE_DIR:?}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3   # Debian's python: it has torch and h5py
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sprout-e2e-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILURES=0

# run NP ARGS... : runs sprout on NP ranks (within a time limit); sets RC, OUT, ERR.
run() {
  local np=$1; shift
  timeout --kill-after=10 "${E2E_TIMEOUT:-120}" mpirun -np "$np" --oversubscribe "$SPROUT_BIN" "$@" \
    >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out"); ERR=$(cat "$WORK/err")
}

fail() { echo "FAIL: $*"; echo "--- stdout"; tail -n 20 "$WORK/out"; echo "--- stderr"; tail -n 20 "$WORK/err"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

expect_rc() {  # expect_rc WANT DESCRIPTION
  if [[ $RC -eq $1 ]]; then pass "$2 (status $RC)"; else fail "$2: status $RC, expected $1"; fi
}
expect_nonzero() {
  if [[ $RC -ne 0 && $RC -ne 124 && $RC -ne 137 ]]; then pass "$1 (status $RC)"; else fail "$1: status $RC, expected a prompt non-zero exit"; fi
}
expect_err() {  # expect_err TEXT DESCRIPTION: stderr has exactly one sprout line, containing TEXT
  local lines; lines=$(grep -c '^sprout: ' "$WORK/err")
  if grep -qF -- "$1" "$WORK/err" && [[ $lines -eq 1 ]]; then pass "$2"; else fail "$2: wanted one 'sprout:' line containing '$1' ($lines lines)"; fi
}
# last_json KEY: the value of KEY in the JSON object on stdout's last line.
last_json() {
  tail -n 1 "$WORK/out" | $PY -c "import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if isinstance(v,(dict,list)) else v)" "$1"
}
finish() {
  if ((FAILURES)); then echo "$FAILURES failure(s)"; exit 1; fi
  echo "all passed"
}
