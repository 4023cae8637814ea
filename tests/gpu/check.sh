#!/usr/bin/env bash
# The prepared GPU check. Run on a machine with an NVIDIA GPU, a Python whose PyTorch 2.x
# has CUDA, a C++ compiler, CMake and ninja, and no package registry:
#
#   tests/gpu/check.sh [DEPS]
#
# DEPS (default .gpu-deps) is the folder tests/gpu/prepare_deps.sh made on a Debian 12
# machine: Open MPI, parallel HDF5, Boost.Program_options, GoogleTest, zlib headers.
# The script
#   1. builds sprout in build-gpu/ against that PyTorch's LibTorch (SPROUT_TORCH_PYTHON)
#      and the NCCL of its nvidia-nccl wheel (or /usr/local/cuda), NCCL backend on;
#   2. runs the GPU tests (ctest -L gpu: selection rules, MPI bootstrap, NCCL closed forms,
#      CUDA training with replicas compared bitwise and against the CPU run);
#   3. trains a short run on the GPU and the same model on the CPU; grows a model on the
#      GPU, checkpoints it, resumes it on the CPU and back on the GPU; measures the
#      allreduce bandwidth of each backend (build-gpu/tests/gpu/gpu_allreduce_bench);
#   4. prints a short table last.
# Logs go to build-gpu/check/ (and to $OUT when that is set). Exit status: 0 when the
# build, every GPU test and the training succeeded.
#
# Environment: PYTHON (default python3), SPROUT_GPU_BUILD (build folder),
# SPROUT_GPU_TRAIN_ARGS (extra options for both training runs, e.g. growth options),
# SPROUT_GPU_TORCH_MODE=cmake (use find_package(Torch) with torch.utils.cmake_prefix_path
# instead of importing LibTorch from the Python package), SPROUT_GPU_CHECK_ALLOW_CPU=1
# (dry run on a machine without a GPU: the GPU tests skip, the "GPU" run uses the CPU).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEPS=$(realpath -m "${1:-${SPROUT_GPU_DEPS:-$ROOT/.gpu-deps}}")
BUILD=$(realpath -m "${SPROUT_GPU_BUILD:-$ROOT/build-gpu}")
LOGS=$BUILD/check
PY=${PYTHON:-python3}
mkdir -p "$LOGS"
say() { echo "check: $*" >&2; }
die() { say "$*"; exit 1; }
[[ -d $DEPS/usr ]] || die "no dependency folder at $DEPS: run tests/gpu/prepare_deps.sh on a Debian 12 machine first"

# --- 1. What this machine has -------------------------------------------------------------
facts=$("$PY" - <<'EOF'
import glob, os
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
) || die "$PY cannot import torch"
eval "$facts"
say "torch $TORCH_VERSION (CUDA ${TORCH_CUDA:-none}, C++11 ABI $TORCH_ABI), $GPUS GPU(s): $GPU_NAME"
[[ $TORCH_ABI == 1 ]] || die "this PyTorch uses the pre-C++11 ABI; Debian's Boost and GoogleTest need the C++11 ABI (PyTorch >= 2.7)"
if [[ $GPUS == 0 && ${SPROUT_GPU_CHECK_ALLOW_CPU:-0} != 1 ]]; then
  die "no GPU visible to PyTorch (set SPROUT_GPU_CHECK_ALLOW_CPU=1 for a dry run)"
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

# --- 2. The relocated dependencies ---------------------------------------------------------
A=$DEPS/usr/lib/x86_64-linux-gnu
# A fallback library is used only where this machine has none of that soname.
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
"$MPIRUN" -n 1 true || die "the relocated mpirun ($MPIRUN) does not start"

# --- 3. Build -------------------------------------------------------------------------------
if [[ ${SPROUT_GPU_TORCH_MODE:-python} == cmake ]]; then
  TORCH_ARGS=(-DCMAKE_PREFIX_PATH="$TORCH_CMAKE")
else
  TORCH_ARGS=(-DSPROUT_TORCH_PYTHON="$TORCH_DIR" -DSPROUT_TORCH_CXX11_ABI="$TORCH_ABI")
fi
ZLIB_SO=$(find "$DEPS/fallback" -name 'libz.so.1*' -type f | awk 'NR == 1')
GENERATOR=(); command -v ninja >/dev/null && GENERATOR=(-G Ninja)
t0=$(date +%s)
cmake -S "$ROOT" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release "${TORCH_ARGS[@]}" \
  -DSPROUT_WITH_NCCL=ON -DSPROUT_NCCL_INCLUDE_DIR="$(dirname "$NCCL_H")" -DSPROUT_NCCL_LIBRARY="$NCCL_SO" \
  -DSPROUT_CUDA_INCLUDE_DIR="$(dirname "$CUDART_H")" -DSPROUT_CUDART_LIBRARY="$CUDART_SO" \
  -DMPI_C_COMPILER=NOTFOUND -DMPI_C_HEADER_DIR="$A/openmpi/include" -DMPI_C_LIB_NAMES=mpi \
  -DMPI_mpi_LIBRARY="$A/libmpi.so.40" -DMPIEXEC_EXECUTABLE="$MPIRUN" \
  -DHDF5_C_COMPILER_EXECUTABLE=NOTFOUND -DHDF5_ROOT="$A/hdf5/openmpi" \
  -DBoost_DIR="$A/cmake/Boost-1.74.0" -DGTest_DIR="$A/cmake/GTest" \
  -DZLIB_INCLUDE_DIR="$DEPS/usr/include" -DZLIB_LIBRARY="$ZLIB_SO" \
  >"$LOGS/configure.log" 2>&1 || { tail -30 "$LOGS/configure.log"; die "configure failed (log: $LOGS/configure.log)"; }
grep -q "NCCL backend: on" "$LOGS/configure.log" || die "NCCL backend not enabled (see $LOGS/configure.log)"
cmake --build "$BUILD" -j "$(nproc)" --target sprout unit_gpu mpi_gpu_bootstrap mpi_gpu_nccl gpu_allreduce_bench \
  >"$LOGS/build.log" 2>&1 || { grep -m 20 -A 5 "error" "$LOGS/build.log"; die "build failed (log: $LOGS/build.log)"; }
build_s=$(( $(date +%s) - t0 ))
say "built in ${build_s} s"

# --- 4. GPU tests ---------------------------------------------------------------------------
(cd "$BUILD" && ctest -L gpu -V --timeout 600) >"$LOGS/ctest.log" 2>&1
ctest_rc=$?
tail -25 "$LOGS/ctest.log" >&2
gtests_passed=$(grep -aoE 'PASSED  \][^0-9]*[0-9]+ tests?' "$LOGS/ctest.log" | grep -oE '[0-9]+ test' | awk '{s += $1} END {print s + 0}')
ctest_line=$(grep -E '[0-9]+% tests passed' "$LOGS/ctest.log" | tail -1)

# --- 5. Training on GPU and CPU, allreduce bandwidth -----------------------------------------
SPROUT=$BUILD/launch/sprout
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
gpu_device=cuda; [[ $GPUS == 0 ]] && gpu_device=cpu
"$MPIRUN" -n "$NGPU" "$SPROUT" "${TRAIN[@]}" --runtime.device "$gpu_device" --train.steps 600 \
  >"$LOGS/train_gpu.log" 2>&1
train_rc=$?
gpu_rate=$(samples samples_per_s <"$LOGS/train_gpu.log" 2>/dev/null || echo "n/a")
gpu_acc=$(samples test_accuracy <"$LOGS/train_gpu.log" 2>/dev/null || echo "n/a")
"$MPIRUN" -n 1 "$SPROUT" "${TRAIN[@]}" --runtime.device cpu --runtime.threads "$(nproc)" --train.steps 60 \
  >"$LOGS/train_cpu.log" 2>&1
cpu_rate=$(samples samples_per_s <"$LOGS/train_cpu.log" 2>/dev/null || echo "n/a")
# Growth and checkpoints across devices: grow on the GPU (GradMax, then variance transfer),
# checkpoint, resume that checkpoint on the CPU, and resume the CPU's checkpoint on the GPU.
CK=$LOGS/ckpt; rm -rf "$CK"
GROW=(train --data.name synthetic --data.synthetic_train 20000 --data.synthetic_test 2000 --model.widths 64,64
      --train.batch 64 --log.progress lines --checkpoint.dir "$CK" --checkpoint.every 50 --checkpoint.keep 0
      --growth.event 40:fc1:+32 --growth.event 90:fc2:+32 --growth.strategy gradmax)
roundtrip_rc=0
"$MPIRUN" -n "$NGPU" "$SPROUT" "${GROW[@]}" --runtime.device "$gpu_device" --train.steps 100 \
  >"$LOGS/grow_gpu.log" 2>&1 || roundtrip_rc=1
"$MPIRUN" -n 2 "$SPROUT" "${GROW[@]}" --runtime.device cpu --resume auto --train.steps 150 \
  >"$LOGS/grow_cpu_resume.log" 2>&1 || roundtrip_rc=1
"$MPIRUN" -n "$NGPU" "$SPROUT" "${GROW[@]}" --runtime.device "$gpu_device" --resume auto --train.steps 200 \
  >"$LOGS/grow_gpu_resume.log" 2>&1 || roundtrip_rc=1
grep -q "resumed from .*step-00000100.h5 at step 100" "$LOGS/grow_cpu_resume.log" || roundtrip_rc=1
grep -q "resumed from .*step-00000150.h5 at step 150" "$LOGS/grow_gpu_resume.log" || roundtrip_rc=1
grown_widths=$(grep -h '"widths"' "$LOGS/grow_gpu_resume.log" | tail -1 | grep -oE '"widths":\{[^}]*\}' || echo "n/a")
grown_acc=$(samples test_accuracy <"$LOGS/grow_gpu_resume.log" 2>/dev/null || echo "n/a")

# One rank per GPU (NCCL), and two ranks (on one GPU: MPI with host staging; MPI on the CPU).
"$MPIRUN" -n "$NGPU" "$BUILD/tests/gpu/gpu_allreduce_bench" 256 20 >"$LOGS/allreduce.log" 2>&1
"$MPIRUN" -n 2 "$BUILD/tests/gpu/gpu_allreduce_bench" 256 10 >"$LOGS/allreduce_2ranks.log" 2>&1
cat "$LOGS/allreduce.log" "$LOGS/allreduce_2ranks.log" >&2
field() {  # field LOG KEY: a value of the benchmark's summary line
  grep allreduce_summary "$1" | tail -1 | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'
}
one=$LOGS/allreduce.log two=$LOGS/allreduce_2ranks.log

[[ -n ${OUT:-} && -d ${OUT:-} ]] && cp "$LOGS"/*.log "$OUT"/ 2>/dev/null

status=0
[[ $ctest_rc == 0 && $train_rc == 0 && $roundtrip_rc == 0 ]] || status=1
{
  echo
  echo "| sprout GPU check | $(date -u +%Y-%m-%dT%H:%MZ) |"
  echo "|---|---|"
  echo "| machine | $GPUS x $GPU_NAME, $(nproc) CPU cores, torch $TORCH_VERSION (CUDA ${TORCH_CUDA:-none}), NCCL $(basename "$NCCL_SO") |"
  echo "| build (sprout + GPU tests) | ${build_s} s |"
  echo "| GPU tests (ctest -L gpu) | ${ctest_line:-none ran}; ${gtests_passed} gtest cases passed |"
  echo "| training, $NGPU rank(s) on $gpu_device (mlp 784-1024-1024-10, batch 256/rank) | ${gpu_rate} samples/s, test accuracy ${gpu_acc} (exit $train_rc) |"
  echo "| same model, 1 rank on CPU ($(nproc) threads) | ${cpu_rate} samples/s |"
  echo "| growth on $gpu_device (fc1 +32, fc2 +32) -> checkpoint -> resume on CPU (2 ranks) -> resume on $gpu_device | exit $roundtrip_rc, widths ${grown_widths}, test accuracy ${grown_acc} |"
  echo "| allreduce $(field "$one" max_bytes) B, $NGPU rank(s), $(field "$one" gpu_backend) on cuda$([[ $NGPU == 1 ]] && echo ' (1 rank: a local copy)') | $(field "$one" gpu_algbw_GBps) GB/s algbw |"
  echo "| allreduce same size, 2 ranks, $(field "$two" gpu_backend) on cuda | $(field "$two" gpu_algbw_GBps) GB/s algbw |"
  echo "| allreduce same size, 2 ranks, mpi on cpu | $(field "$two" cpu_algbw_GBps) GB/s algbw |"
  echo "| result | $([[ $status == 0 ]] && echo PASS || echo FAIL) (logs: $LOGS) |"
} | tee "$LOGS/table.md"
exit $status
