#!/usr/bin/env bash
# The prepared GPU check. Run on a machine with an NVIDIA GPU, a Python whose PyTorch 2.x
# has CUDA, a C++ compiler, CMake and ninja, and no package registry:
#
#   tests/gpu/check.sh [DEPS]
#
# DEPS (default .gpu-deps) is the folder tests/gpu/prepare_deps.sh made on a Debian 12
# machine: Open MPI, parallel HDF5, Boost.Program_options, GoogleTest, zlib headers.
# Phases (each under `timeout`; the limits add up to what one GPU loan allows, with room to
# rerun):
#   1. facts     what PyTorch sees; the relocated MPI starts
#   2. preflight nvidia-smi; a one-rank NCCL allreduce from that Python torch (the driver,
#                CUDA and NCCL work before anything is built)
#   3. build     sprout and the GPU tests in build-gpu/ against that PyTorch's LibTorch
#                (SPROUT_TORCH_PYTHON) and the NCCL of its nvidia-nccl wheel (or
#                /usr/local/cuda), NCCL backend on; then the libraries the binaries link
#                (libtorch_cuda must be among them when PyTorch has CUDA)
#   4. tests     ctest -L gpu (selection rules, MPI bootstrap, NCCL collectives incl. the
#                out-of-place allgather and the bucket reducer on one rank, CUDA training
#                compared against the CPU run, host staging on 2 ranks). With one GPU the
#                2-rank NCCL test is left out (it needs a GPU per rank). When a GPU is
#                present, any skipped GPU test fails the check.
#   5. training  a short run on the GPU(s), the same model on the CPU, 2 ranks with
#                --runtime.device cuda through host staging; growth on the GPU,
#                checkpoint, resume on the CPU and back on the GPU
#   6. bandwidth allreduce of each backend (build-gpu/tests/gpu/gpu_allreduce_bench)
#   7. a short table, printed last.
# Logs: build-gpu/check/. When $OUT is set, each phase's end refreshes at most 4 files there
# (check.log, phases.tsv, logs.tar.gz, table.md), so a run killed midway still returns
# what it did. Exit status: 0 when every phase passed.
#
# Environment: PYTHON (default python3), SPROUT_GPU_BUILD (build folder),
# SPROUT_GPU_TRAIN_ARGS (extra options for the training runs, e.g. growth options),
# SPROUT_GPU_TORCH_MODE=cmake (use find_package(Torch) with torch.utils.cmake_prefix_path
# instead of importing LibTorch from the Python package), SPROUT_GPU_CHECK_ALLOW_CPU=1
# (dry run on a machine without a GPU: GPU tests skip, preflight uses gloo on the CPU, the
# "GPU" runs use the CPU), SPROUT_GPU_JOBS (build jobs, default nproc),
# SPROUT_GPU_TIME_SCALE (integer factor on every phase's limit, default 1: the limits fit a
# 16-core GPU machine; a dry run on a 2-core machine needs about 8).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEPS=$(realpath -m "${1:-${SPROUT_GPU_DEPS:-$ROOT/.gpu-deps}}")
BUILD=$(realpath -m "${SPROUT_GPU_BUILD:-$ROOT/build-gpu}")
LOGS=$BUILD/check
PY=${PYTHON:-python3}
OUTDIR=${OUT:-}
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/phases.tsv "$LOGS"/table.md
T0=$(date +%s)
printf 'phase\tstatus\tseconds\tlimit_s\n' >"$LOGS/phases.tsv"

say() { echo "check: $*" | tee -a "$LOGS/check.log" >&2; }
# Copies what exists so far to $OUT (when set): at most 4 files, replaced atomically.
publish() {
  [[ -n $OUTDIR ]] || return 0
  mkdir -p "$OUTDIR" 2>/dev/null || return 0
  (cd "$LOGS" && tar -czf "$OUTDIR/.logs.tar.gz" --exclude=ckpt --exclude=deps-active -- *.log *.txt 2>/dev/null) &&
    mv -f "$OUTDIR/.logs.tar.gz" "$OUTDIR/logs.tar.gz"
  cp -f "$LOGS/check.log" "$LOGS/phases.tsv" "$OUTDIR"/ 2>/dev/null
  [[ -f $LOGS/table.md ]] && cp -f "$LOGS/table.md" "$OUTDIR"/
  return 0
}
# step NAME LIMIT_S LOG CMD...: runs CMD under `timeout`, output to LOG; records the phase.
step() {
  local name=$1 limit=$(( $2 * ${SPROUT_GPU_TIME_SCALE:-1} )) log=$3 t rc
  shift 3
  t=$(date +%s)
  timeout -k 10 "$limit" "$@" </dev/null >"$log" 2>&1
  rc=$?
  local took=$(( $(date +%s) - t )) verdict=ok
  [[ $rc == 0 ]] || verdict="exit $rc"
  [[ $rc == 124 || $rc == 137 ]] && verdict="timed out"
  printf '%s\t%s\t%s\t%s\n' "$name" "$verdict" "$took" "$limit" >>"$LOGS/phases.tsv"
  say "$name: $verdict (${took} s; log $(basename "$log"))"
  publish
  return $rc
}
die() { say "FAILED: $*"; echo "| result | FAIL: $* |" >"$LOGS/table.md"; publish; exit 1; }
[[ -d $DEPS/usr ]] || die "no dependency folder at $DEPS: run tests/gpu/prepare_deps.sh on a Debian 12 machine first"

# --- 1. Facts --------------------------------------------------------------------------------
cat >"$LOGS/facts.py" <<'EOF'
import os
import torch
print(f"TORCH_DIR={os.path.dirname(torch.__file__)}")
print(f"TORCH_CMAKE={torch.utils.cmake_prefix_path}")
print(f"TORCH_VERSION={torch.__version__}")
print(f"TORCH_CUDA={torch.version.cuda or ''}")
print(f"TORCH_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}")
print(f"GPUS={torch.cuda.device_count() if torch.cuda.is_available() else 0}")
print(f"GPU_NAME='{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}'")
try:
    import nvidia
    roots = [p for p in nvidia.__path__]
except ImportError:
    roots = []
print("NVIDIA_ROOTS='" + ":".join(roots) + "'")
EOF
step facts 120 "$LOGS/facts.log" "$PY" "$LOGS/facts.py" || die "$PY cannot import torch (log: facts.log)"
eval "$(grep -E '^[A-Z_]+=' "$LOGS/facts.log")"
say "torch $TORCH_VERSION (CUDA ${TORCH_CUDA:-none}, C++11 ABI $TORCH_ABI), $GPUS GPU(s): $GPU_NAME"
[[ $TORCH_ABI == 1 ]] || die "this PyTorch uses the pre-C++11 ABI; Debian's Boost and GoogleTest need the C++11 ABI (PyTorch >= 2.7)"
DRY=0
if [[ $GPUS == 0 ]]; then
  [[ ${SPROUT_GPU_CHECK_ALLOW_CPU:-0} == 1 ]] || die "no GPU visible to PyTorch (set SPROUT_GPU_CHECK_ALLOW_CPU=1 for a dry run)"
  DRY=1
  say "dry run: no GPU; GPU tests skip, preflight uses gloo, the 'GPU' runs use the CPU"
fi

# The first file matching NAME under the NVIDIA wheels, then under /usr/local/cuda.
find_one() {
  local name=$1 d
  IFS=: read -r -a dirs <<<"$NVIDIA_ROOTS"
  for d in "${dirs[@]}" /usr/local/cuda; do
    [[ -d $d ]] || continue
    local hit
    hit=$(find -L "$d" -name "$name" \( -type f -o -type l \) 2>/dev/null | sort | awk 'NR == 1')
    [[ -n $hit ]] && { echo "$hit"; return 0; }
  done
  return 1
}
CUDA_MAJOR=${TORCH_CUDA%%.*}
NCCL_H=$(find_one nccl.h) || die "nccl.h not found (nvidia-nccl wheel or /usr/local/cuda)"
NCCL_SO=$(find_one 'libnccl.so.2') || die "libnccl.so.2 not found"
CUDART_H=$(find_one cuda_runtime_api.h) || die "cuda_runtime_api.h not found"
CUDART_SO=$(find_one "libcudart.so.${CUDA_MAJOR:-*}") || CUDART_SO=$(find_one 'libcudart.so*') || die "libcudart not found"
say "NCCL: $NCCL_SO; CUDA runtime: $CUDART_SO"

# The relocated dependencies. A fallback library is used only where this machine has none of
# that soname.
A=$DEPS/usr/lib/x86_64-linux-gnu
ACTIVE=$BUILD/deps-active
rm -rf "$ACTIVE" && mkdir -p "$ACTIVE"
ldconfig -p >"$LOGS/ldconfig.txt" 2>/dev/null || : >"$LOGS/ldconfig.txt"
for f in "$DEPS"/fallback/lib/x86_64-linux-gnu/*.so.* "$DEPS"/fallback/usr/lib/x86_64-linux-gnu/*.so.*; do
  [[ -e $f ]] || continue
  so=$(basename "$f")
  grep -q "^[[:space:]]*$so " "$LOGS/ldconfig.txt" || ln -sf "$f" "$ACTIVE/$so"
done
export LD_LIBRARY_PATH=$A:$A/pmix2/lib:$ACTIVE${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Open MPI relocates itself from OPAL_PREFIX; its PMIx needs its plugin folder named.
export OPAL_PREFIX=$DEPS/usr OPAL_SYSCONFDIR=$DEPS/etc/openmpi PMIX_MCA_mca_base_component_path=$A/pmix2/lib/pmix
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_mca_base_component_show_load_errors=0
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp
MPIRUN=$DEPS/usr/bin/orterun
step mpirun 60 "$LOGS/mpirun.log" "$MPIRUN" -n 1 true || die "the relocated mpirun ($MPIRUN) does not start"

# --- 2. Preflight: the GPU, the driver and NCCL, before minutes go into a build ---------------
if command -v nvidia-smi >/dev/null; then
  step nvidia-smi 60 "$LOGS/preflight_nvidia_smi.log" nvidia-smi
  [[ $? == 0 || $DRY == 1 ]] || die "nvidia-smi failed (log: preflight_nvidia_smi.log)"
else
  echo "nvidia-smi not found" >"$LOGS/preflight_nvidia_smi.log"
  say "nvidia-smi: not found"
  [[ $DRY == 1 ]] || die "a GPU is visible to PyTorch but nvidia-smi is not installed"
fi
PREFLIGHT_BACKEND=nccl; [[ $DRY == 1 ]] && PREFLIGHT_BACKEND=gloo
cat >"$LOGS/preflight.py" <<'EOF'
import os, sys, tempfile
import torch
import torch.distributed as dist
backend = sys.argv[1]
init = "file://" + os.path.join(tempfile.mkdtemp(), "rendezvous")
dist.init_process_group(backend, init_method=init, rank=0, world_size=1)
device = "cuda:0" if backend == "nccl" else "cpu"
t = torch.arange(1 << 20, dtype=torch.float32, device=device)
dist.all_reduce(t)
if backend == "nccl":
    torch.cuda.synchronize()
    print("NCCL", torch.cuda.nccl.version())
assert torch.equal(t.cpu(), torch.arange(1 << 20, dtype=torch.float32)), "allreduce changed the data"
print(f"one-rank {backend} allreduce of 4 MiB on {device}: ok")
dist.destroy_process_group()
EOF
step "preflight $PREFLIGHT_BACKEND allreduce" 120 "$LOGS/preflight_allreduce.log" "$PY" "$LOGS/preflight.py" "$PREFLIGHT_BACKEND"
preflight_rc=$?
[[ $preflight_rc == 0 ]] || die "one-rank $PREFLIGHT_BACKEND allreduce from $PY failed (log: preflight_allreduce.log)"

# --- 3. Build -----------------------------------------------------------------------------
if [[ ${SPROUT_GPU_TORCH_MODE:-python} == cmake ]]; then
  TORCH_ARGS=(-DCMAKE_PREFIX_PATH="$TORCH_CMAKE")
else
  TORCH_ARGS=(-DSPROUT_TORCH_PYTHON="$TORCH_DIR" -DSPROUT_TORCH_CXX11_ABI="$TORCH_ABI")
fi
ZLIB_SO=$(find "$DEPS/fallback" -name 'libz.so.1*' -type f | awk 'NR == 1')
GENERATOR=(); command -v ninja >/dev/null && GENERATOR=(-G Ninja)
t_build=$(date +%s)
step configure 120 "$LOGS/configure.log" cmake -S "$ROOT" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release "${TORCH_ARGS[@]}" \
  -DSPROUT_WITH_NCCL=ON -DSPROUT_NCCL_INCLUDE_DIR="$(dirname "$NCCL_H")" -DSPROUT_NCCL_LIBRARY="$NCCL_SO" \
  -DSPROUT_CUDA_INCLUDE_DIR="$(dirname "$CUDART_H")" -DSPROUT_CUDART_LIBRARY="$CUDART_SO" \
  -DMPI_C_COMPILER=NOTFOUND -DMPI_C_HEADER_DIR="$A/openmpi/include" -DMPI_C_LIB_NAMES=mpi \
  -DMPI_mpi_LIBRARY="$A/libmpi.so.40" -DMPIEXEC_EXECUTABLE="$MPIRUN" \
  -DHDF5_C_COMPILER_EXECUTABLE=NOTFOUND -DHDF5_ROOT="$A/hdf5/openmpi" \
  -DBoost_DIR="$A/cmake/Boost-1.74.0" -DGTest_DIR="$A/cmake/GTest" \
  -DZLIB_INCLUDE_DIR="$DEPS/usr/include" -DZLIB_LIBRARY="$ZLIB_SO" ||
  { tail -30 "$LOGS/configure.log" >&2; die "configure failed (log: configure.log)"; }
grep -q "NCCL backend: on" "$LOGS/configure.log" || die "NCCL backend not enabled (see configure.log)"
say "$(grep -m1 -o 'LibTorch [0-9.a-z]*: C++[0-9]*' "$LOGS/configure.log")"
# The build's CPU time as well as its wall time: wall time on N cores ≈ CPU time / N.
TIMED=(); [[ -x /usr/bin/time ]] && TIMED=(/usr/bin/time -o "$LOGS/build_time.txt" -f '%e s wall, %U s user, %S s sys')
step build 420 "$LOGS/build.log" "${TIMED[@]}" cmake --build "$BUILD" -j "${SPROUT_GPU_JOBS:-$(nproc)}" --target sprout unit_gpu \
  mpi_gpu_bootstrap mpi_gpu_nccl gpu_allreduce_bench ||
  { grep -m 20 -A 5 "error" "$LOGS/build.log" >&2; die "build failed (log: build.log)"; }
build_s=$(( $(date +%s) - t_build ))
SPROUT=$BUILD/launch/sprout

# The libraries the binaries load: without libtorch_cuda every GPU test would skip.
step "linked libraries" 60 "$LOGS/linked_libraries.log" bash -c 'for b; do
    echo "== $b"; readelf -d "$b" | grep NEEDED; ldd "$b" | grep -E "torch|c10|nccl|cudart|mpi|hdf5|not found"
  done' _ "$SPROUT" "$BUILD/tests/gpu/mpi_gpu_nccl"
if [[ -n $TORCH_CUDA ]] && ! grep -q 'libtorch_cuda' "$LOGS/linked_libraries.log"; then
  die "PyTorch has CUDA but sprout does not link libtorch_cuda (log: linked_libraries.log)"
fi
grep -q 'not found' "$LOGS/linked_libraries.log" && die "a library of the built binaries is not found (log: linked_libraries.log)"

# --- 4. GPU tests ---------------------------------------------------------------------------
CTEST_EXCLUDE=()
nccl_n2_note=""
if [[ $GPUS == 1 ]]; then
  CTEST_EXCLUDE=(-E '^mpi_gpu_nccl_n2$')
  nccl_n2_note="; mpi_gpu_nccl_n2 not run (needs 2 GPUs)"
fi
step "gpu tests" 420 "$LOGS/ctest.log" bash -c 'cd "$1" && shift && ctest -L gpu -V --timeout 240 "$@"' _ "$BUILD" "${CTEST_EXCLUDE[@]}"
ctest_rc=$?
tail -25 "$LOGS/ctest.log" >&2
gtests_passed=$(grep -aoE 'PASSED  \][^0-9]*[0-9]+ tests?' "$LOGS/ctest.log" | grep -oE '[0-9]+ test' | awk '{s += $1} END {print s + 0}')
ctest_line=$(grep -aE '[0-9]+% tests passed' "$LOGS/ctest.log" | tail -1)
# Every skipped gtest case (one line each) and every test CTest reports skipped.
grep -aE '\[  SKIPPED \] [A-Za-z0-9_]+\.[A-Za-z0-9_]+' "$LOGS/ctest.log" | sed -E 's/.*SKIPPED \] //; s/ \(.*//' | sort -u >"$LOGS/skipped.txt"
grep -aE '\*\*\*Skipped|Not Run' "$LOGS/ctest.log" >>"$LOGS/skipped.txt"
skipped=$(grep -c . "$LOGS/skipped.txt")
skip_rc=0
if [[ $skipped -gt 0 ]]; then
  if [[ $DRY == 1 ]]; then
    say "$skipped GPU test(s) skipped (no GPU here: expected)"
  else
    skip_rc=1
    say "FAIL: a GPU is present but $skipped GPU test(s) skipped:"
    sed 's/^/  /' "$LOGS/skipped.txt" | tee -a "$LOGS/check.log" >&2
  fi
fi
publish

# --- 5. Training on GPU and CPU, host staging, growth round trip -----------------------------
NGPU=$(( GPUS > 0 ? GPUS : 1 ))
TRAIN=(train --data.name synthetic --data.synthetic_train 60000 --data.synthetic_test 10000
       --model.widths 1024,1024 --train.batch 256 --log.progress none --train.log_every 100 ${SPROUT_GPU_TRAIN_ARGS:-})
# A field of the JSON summary sprout prints as its last line on stdout.
samples() {
  "$PY" -c '
import json, sys
rows = [l for l in sys.stdin.read().splitlines() if l.startswith("{") and "samples_per_s" in l]
print(round(json.loads(rows[-1])[sys.argv[1]], 4))' "$1"
}
gpu_device=cuda gpu_steps=600 staging_steps=200
[[ $DRY == 1 ]] && gpu_device=cpu gpu_steps=60 staging_steps=40  # the CPU is slower
step "train $NGPU rank(s) on $gpu_device" 120 "$LOGS/train_gpu.log" \
  "$MPIRUN" -n "$NGPU" "$SPROUT" "${TRAIN[@]}" --runtime.device "$gpu_device" --train.steps "$gpu_steps"
train_rc=$?
gpu_rate=$(samples samples_per_s <"$LOGS/train_gpu.log" 2>/dev/null || echo "n/a")
gpu_acc=$(samples test_accuracy <"$LOGS/train_gpu.log" 2>/dev/null || echo "n/a")
step "train 1 rank on cpu" 120 "$LOGS/train_cpu.log" \
  "$MPIRUN" -n 1 "$SPROUT" "${TRAIN[@]}" --runtime.device cpu --runtime.threads "$(nproc)" --train.steps 60
cpu_rate=$(samples samples_per_s <"$LOGS/train_cpu.log" 2>/dev/null || echo "n/a")
# Two ranks on the GPU through host staging (MPI carries the gradients): the path a node
# with fewer GPUs than ranks takes.
staging=(--runtime.device cuda --runtime.backend mpi); [[ $DRY == 1 ]] && staging=(--runtime.device cpu)
step "train 2 ranks, ${staging[*]}" 120 "$LOGS/train_staging.log" \
  "$MPIRUN" -n 2 "$SPROUT" "${TRAIN[@]}" "${staging[@]}" --train.steps "$staging_steps"
staging_rc=$?
staging_rate=$(samples samples_per_s <"$LOGS/train_staging.log" 2>/dev/null || echo "n/a")
staging_acc=$(samples test_accuracy <"$LOGS/train_staging.log" 2>/dev/null || echo "n/a")
# Growth and checkpoints across devices: grow on the GPU (GradMax), checkpoint, resume that
# checkpoint on the CPU, and resume the CPU's checkpoint on the GPU.
CK=$LOGS/ckpt; rm -rf "$CK"
GROW=(train --data.name synthetic --data.synthetic_train 20000 --data.synthetic_test 2000 --model.widths 64,64
      --train.batch 64 --log.progress lines --checkpoint.dir "$CK" --checkpoint.every 50 --checkpoint.keep 0
      --growth.event 40:fc1:+32 --growth.event 90:fc2:+32 --growth.strategy gradmax)
roundtrip_rc=0
step "grow on $gpu_device" 90 "$LOGS/grow_gpu.log" \
  "$MPIRUN" -n "$NGPU" "$SPROUT" "${GROW[@]}" --runtime.device "$gpu_device" --train.steps 100 || roundtrip_rc=1
step "resume on cpu" 90 "$LOGS/grow_cpu_resume.log" \
  "$MPIRUN" -n 2 "$SPROUT" "${GROW[@]}" --runtime.device cpu --resume auto --train.steps 150 || roundtrip_rc=1
step "resume on $gpu_device" 90 "$LOGS/grow_gpu_resume.log" \
  "$MPIRUN" -n "$NGPU" "$SPROUT" "${GROW[@]}" --runtime.device "$gpu_device" --resume auto --train.steps 200 || roundtrip_rc=1
grep -q "resumed from .*step-00000100.h5 at step 100" "$LOGS/grow_cpu_resume.log" || roundtrip_rc=1
grep -q "resumed from .*step-00000150.h5 at step 150" "$LOGS/grow_gpu_resume.log" || roundtrip_rc=1
grown_widths=$(grep -h '"widths"' "$LOGS/grow_gpu_resume.log" | tail -1 | grep -oE '"widths":\{[^}]*\}' || echo "n/a")
grown_acc=$(samples test_accuracy <"$LOGS/grow_gpu_resume.log" 2>/dev/null || echo "n/a")

# --- 6. Allreduce bandwidth: one rank per GPU (NCCL), and two ranks (on one GPU: MPI with host
# staging; MPI on the CPU) -------------------------------------------------------------------
step "allreduce bench $NGPU rank(s)" 90 "$LOGS/allreduce.log" "$MPIRUN" -n "$NGPU" "$BUILD/tests/gpu/gpu_allreduce_bench" 256 20
step "allreduce bench 2 ranks" 90 "$LOGS/allreduce_2ranks.log" "$MPIRUN" -n 2 "$BUILD/tests/gpu/gpu_allreduce_bench" 256 10
cat "$LOGS/allreduce.log" "$LOGS/allreduce_2ranks.log" >&2
field() {  # field LOG KEY: a value of the benchmark's summary line
  grep allreduce_summary "$1" | tail -1 | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'
}
one=$LOGS/allreduce.log two=$LOGS/allreduce_2ranks.log

# --- 7. Table -------------------------------------------------------------------------------
status=0
[[ $ctest_rc == 0 && $skip_rc == 0 && $train_rc == 0 && $staging_rc == 0 && $roundtrip_rc == 0 ]] || status=1
{
  echo
  echo "| sprout GPU check$([[ $DRY == 1 ]] && echo ' (DRY RUN: no GPU)') | $(date -u +%Y-%m-%dT%H:%MZ) |"
  echo "|---|---|"
  echo "| machine | $GPUS x $GPU_NAME, $(nproc) CPU cores, torch $TORCH_VERSION (CUDA ${TORCH_CUDA:-none}), NCCL $(basename "$NCCL_SO") |"
  echo "| preflight | $(tail -1 "$LOGS/preflight_allreduce.log") |"
  echo "| build (sprout + GPU tests, $(grep -m1 -o 'C++[0-9]*' "$LOGS/configure.log" || echo 'C++?'), $(nproc) cores) | ${build_s} s with configure; build alone $(cat "$LOGS/build_time.txt" 2>/dev/null || echo 'n/a') |"
  echo "| GPU tests (ctest -L gpu) | ${ctest_line:-none ran}; ${gtests_passed} gtest cases passed; ${skipped} skipped${nccl_n2_note} |"
  echo "| training, $NGPU rank(s) on $gpu_device (mlp 784-1024-1024-10, batch 256/rank) | ${gpu_rate} samples/s, test accuracy ${gpu_acc} (exit $train_rc) |"
  echo "| same model, 1 rank on CPU ($(nproc) threads) | ${cpu_rate} samples/s |"
  echo "| same model, 2 ranks, ${staging[*]} | ${staging_rate} samples/s, test accuracy ${staging_acc} (exit $staging_rc) |"
  echo "| growth on $gpu_device (fc1 +32, fc2 +32) -> checkpoint -> resume on CPU (2 ranks) -> resume on $gpu_device | exit $roundtrip_rc, widths ${grown_widths}, test accuracy ${grown_acc} |"
  echo "| allreduce $(field "$one" max_bytes) B, $NGPU rank(s), $(field "$one" gpu_backend) on cuda$([[ $NGPU == 1 ]] && echo ' (1 rank: a local copy)') | $(field "$one" gpu_algbw_GBps) GB/s algbw |"
  echo "| allreduce same size, 2 ranks, $(field "$two" gpu_backend) on cuda | $(field "$two" gpu_algbw_GBps) GB/s algbw |"
  echo "| allreduce same size, 2 ranks, mpi on cpu | $(field "$two" cpu_algbw_GBps) GB/s algbw |"
  echo "| wall time | $(( $(date +%s) - T0 )) s |"
  echo "| result | $([[ $status == 0 ]] && echo PASS || echo FAIL) (logs: $LOGS$([[ -n $OUTDIR ]] && echo ", $OUTDIR")) |"
} | tee "$LOGS/table.md"
publish
exit $status
