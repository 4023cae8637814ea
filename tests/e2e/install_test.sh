#!/usr/bin/env bash
# sprout as an installed library (cmake/install.cmake, launch/api/README.md): installs the
# build into a fresh prefix, builds examples/byo out of tree against that prefix only
# (find_package(sprout)), and runs it on 2 ranks from an HDF5 data set (Fashion-MNIST
# converted by data/scripts/to_hdf5.py): a model of the program's own family grows at its
# growth event, a plain torch::nn::Module trains on the engine, its checkpoint restores to
# the same accuracy and merges, and PyTorch loads the checkpoints of both (their
# normalisation included) to the same test accuracy; growth on the module is refused with
# one line and status 2. Needs the sprout build (SPROUT_BIN) and Fashion-MNIST.
source "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$SPROUT_BIN")  # the build tree: the folder above the binary with a CMakeCache.txt
while [[ $BUILD != / && ! -f $BUILD/CMakeCache.txt ]]; do BUILD=$(dirname "$BUILD"); done
PREFIX=$WORK/prefix
cd "$WORK" || exit 1
DATA=$WORK/fashion-mnist.h5
if $PY "$SPROUT_SOURCE_DIR/data/scripts/to_hdf5.py" --idx /usr/share/datasets/fashion-mnist --out "$DATA" \
     >"$WORK/convert.log" 2>&1; then pass "Fashion-MNIST converted to HDF5"
else fail "to_hdf5.py: $(tail -n 2 "$WORK/convert.log")"; finish; fi

# 1. Install: headers under include/sprout with the source tree's spelling, libraries, package.
if cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1; then pass "cmake --install"
else fail "cmake --install: $(tail -n 3 "$WORK/install.log")"; fi
for f in include/sprout/sprout.h include/sprout/launch/api/session.h include/sprout/runtime/param_set.h \
         include/sprout/growth/models/family.h lib/libsprout_runtime.a lib/libsprout_launch.a \
         lib/cmake/sprout/sproutConfig.cmake lib/cmake/sprout/sproutConfigVersion.cmake lib/cmake/sprout/sproutTargets.cmake; do
  [[ -f $PREFIX/$f ]] || fail "installed: $f missing"
done
# Warnings and the precompiled header are sprout's own business, not its users'.
if grep -qE -- '-Wall|-Wextra|cmake_pch|PRECOMPILE' "$PREFIX"/lib/cmake/sprout/sproutTargets*.cmake; then
  fail "the exported targets carry sprout's warnings or precompiled header"
else pass "exported targets: no warnings, no precompiled header"; fi

# 2. The example, configured and built against the prefix alone (ccache, if any, keyed on
# paths relative to $WORK so reruns hit; a missing header still fails the preprocessor).
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); export CCACHE_BASEDIR=$WORK; fi
if cmake -S "$SPROUT_SOURCE_DIR/examples/byo" -B "$WORK/byo" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_PREFIX_PATH="$PREFIX" "${launcher[@]}" >"$WORK/configure.log" 2>&1; then pass "configure the example"
else fail "configure the example: $(grep -m3 -i error "$WORK/configure.log")"; fi
# Nothing of the source or build tree on the example's include path: only the prefix.
if grep -oE -- '-I ?[^ ]+|-isystem [^ ]+' "$WORK/byo/build.ninja" | grep -qE "$SPROUT_SOURCE_DIR|$(realpath "$BUILD")"; then
  fail "the example's include path reaches into sprout's source or build tree"
fi
if timeout 90 cmake --build "$WORK/byo" -j 2 >"$WORK/build.log" 2>&1; then pass "build the example"
else fail "build the example: $(grep -m3 -E 'error|Error' "$WORK/build.log")"; finish; fi

# 3. Train on 2 ranks: growth event, module training, checkpoint restore, merge.
timeout --kill-after=5 120 mpirun -np 2 --oversubscribe "$WORK/byo/byo_train" "$DATA" "$WORK/run" \
  >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 0 "byo_train on 2 ranks"
value() { sed -n "s/^$1: .*test accuracy \([0-9.]*\)$/\1/p" "$WORK/out"; }
above() { $PY -c "import sys; sys.exit(0 if float(sys.argv[1] or 'nan') > float(sys.argv[2]) else 1)" "$1" "$2"; }
if grep -q '^growable: fc1 32 -> 64,' "$WORK/out"; then pass "the growth event widened fc1 from 32 to 64"
else fail "no growth event in: $(grep '^growable' "$WORK/out")"; fi
for what in growable module; do
  if above "$(value $what)" 0.5; then pass "$what test accuracy $(value $what) (chance: 0.1)"
  else fail "$what test accuracy '$(value $what)' is not above 0.5"; fi
done
if [[ -n $(value module) && $(value restored) == "$(value module)" ]]; then pass "the checkpoint restores the module's accuracy"
else fail "restored accuracy '$(value restored)' differs from the trained module's '$(value module)'"; fi
if above "$(value merged)" 0.2; then pass "merged checkpoint evaluates ($(value merged))"
else fail "merged accuracy '$(value merged)'"; fi

# 4. PyTorch loads both checkpoints (the grown family's and the module's), with the input
# normalisation they store, and reaches sprout's test accuracy on the same test split.
$PY - "$DATA" "$WORK/run/growable/step-00000040.h5" "$(value growable)" "$WORK/run/module/step-00000040.h5" \
  "$(value module)" <<'PYEOF' && pass "PyTorch: both checkpoints give sprout's test accuracy" || fail "PyTorch accuracy"
import sys, h5py, torch
data = h5py.File(sys.argv[1], "r")
x = torch.from_numpy(data["test/images"][()]).float().div(255).reshape(-1, 784)
y = torch.from_numpy(data["test/labels"][()]).long()
for path, want in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    f = h5py.File(path, "r")
    w = {k: torch.from_numpy(f[f"model/{k.replace('.', '/')}"][()]) for k in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")}
    net = torch.nn.Sequential(torch.nn.Linear(784, w["fc1.weight"].shape[0]), torch.nn.ReLU(), torch.nn.Linear(w["fc1.weight"].shape[0], 10))
    net.load_state_dict({"0.weight": w["fc1.weight"], "0.bias": w["fc1.bias"], "2.weight": w["fc2.weight"], "2.bias": w["fc2.bias"]}, strict=True)
    mean, std = float(f["normalization/mean"][0]), float(f["normalization/std"][0])
    with torch.no_grad():
        acc = (net((x - mean) / std).argmax(1) == y).float().mean().item()
    print(path, "pytorch", acc, "sprout", want)
    assert abs(acc - float(want)) <= 2 / len(y), (path, acc, want)
PYEOF

# 5. A growth schedule on the module: one line, status 2.
timeout --kill-after=5 30 mpirun -np 2 --oversubscribe "$WORK/byo/byo_train" "$DATA" "$WORK/run2" grow-module \
  >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 2 "growth on a torch::nn::Module"
expect_err "model byo_net declares no width groups" "growth refusal message"
finish
