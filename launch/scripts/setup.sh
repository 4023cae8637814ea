#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages, via apt), then configures and builds sprout.
# Idempotent; works as root or as a user with sudo. Build directory: $SPROUT_BUILD_DIR or build/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SPROUT_BUILD_DIR:-$ROOT/build}

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libboost-program-options-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev
  zlib1g-dev libdeflate-dev
  dataset-fashion-mnist
  python3-torch python3-h5py python3-numpy
)
# Extra packages a caller needs (tests/run.sh adds Slurm, clang, ...).
PACKAGES+=(${SPROUT_EXTRA_PACKAGES:-})

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup: missing packages (${missing[*]}) and no root or sudo to install them" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch on Debian calls whatever libblas.so.3 points to; make sure it is OpenBLAS
# (the reference BLAS is ~17x slower on this project's models).
if ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas; then
  echo "setup: warning: libblas.so.3 is not OpenBLAS; run update-alternatives --config libblas.so.3-x86_64-linux-gnu" >&2
fi

GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S "$ROOT" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${SPROUT_CMAKE_ARGS:-}
fi
cmake --build "$BUILD" -j "$(nproc)"
