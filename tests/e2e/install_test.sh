#!/usr/bin/env bash
# sprout as an installed library (cmake/install.cmake, launch/api/README.md): installs the
# build into a fresh prefix, builds examples/byo out of tree against that prefix only
# (find_package(sprout)), and runs it on 2 ranks: a model of the program's own family
# grows at its growth event, a plain torch::nn::Module trains on the engine, its
# checkpoint restores to the same accuracy and merges; growth on the module is refused
# with one line and status 2. Needs the sprout build (SPROUT_BIN) and Fashion-MNIST.
source "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$SPROUT_BIN")  # the build tree: the folder above the binary with a CMakeCache.txt
while [[ $BUILD != / && ! -f $BUILD/CMakeCache.txt ]]; do BUILD=$(dirname "$BUILD"); done
DATA=/usr/share/datasets/fashion-mnist
PREFIX=$WORK/prefix
cd "$WORK" || exit 1

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
timeout --kill-after=5 60 mpirun -np 2 --oversubscribe "$WORK/byo/byo_train" "$DATA" "$WORK/run" \
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

# 4. A growth schedule on the module: one line, status 2.
timeout --kill-after=5 30 mpirun -np 2 --oversubscribe "$WORK/byo/byo_train" "$DATA" "$WORK/run2" grow-module \
  >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 2 "growth on a torch::nn::Module"
expect_err "model byo_net declares no width groups" "growth refusal message"
finish
