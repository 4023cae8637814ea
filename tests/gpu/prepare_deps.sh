#!/usr/bin/env bash
# Prepares, on a Debian 12 machine with apt, the folder of libraries and headers that
# tests/gpu/check.sh takes to a GPU machine which has PyTorch but no package registry:
# Open MPI (relocatable), parallel HDF5, Boost.Program_options, GoogleTest and zlib.
#
#   tests/gpu/prepare_deps.sh [DEST]          DEST defaults to .gpu-deps (git-ignored)
#
# Layout of DEST (about 30 MB, kept under 60 MB):
#   usr/...        the core packages, unpacked with `dpkg -x` (only what sprout needs)
#   fallback/usr/  shared libraries the core needs beyond glibc and libstdc++ (curl's
#                  closure for HDF5, udev, zlib...); check.sh uses one only where the GPU
#                  machine has no library of that soname
#   manifest.txt   the packages and versions, and what was pruned
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEST=$(realpath -m "${1:-$ROOT/.gpu-deps}")
ARCH_LIB=usr/lib/x86_64-linux-gnu

CORE=(
  openmpi-bin openmpi-common libopenmpi3 libopenmpi-dev libpmix2 libhwloc15
  libevent-core-2.1-7 libevent-pthreads-2.1-7
  libhdf5-openmpi-103-1 libhdf5-openmpi-dev libsz2 libaec0
  libboost-program-options1.74.0 libboost-program-options1.74-dev libboost1.74-dev
  libgtest-dev zlib1g-dev
)
# Sonames every Linux with a C++ toolchain has (glibc, libstdc++, libgcc).
BASE_RE='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libresolv|libutil|libstdc\+\+|libgcc_s)\.so'

command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "prepare_deps: needs apt-get and dpkg (Debian)" >&2; exit 1; }
command -v readelf >/dev/null || { echo "prepare_deps: needs readelf (binutils)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$DEST"
mkdir -p "$DEST/fallback" "$WORK/debs"
: >"$DEST/manifest.txt"

fetch() {  # fetch ROOTDIR PACKAGE...: apt-get download + dpkg -x into ROOTDIR
  local into=$1; shift
  (cd "$WORK/debs" && apt-get download -q "$@" 2>&1 | grep -v "unsandboxed" >&2 || true
   for p in "$@"; do compgen -G "${p}_*.deb" >/dev/null || exit 1; done) || {
    echo "prepare_deps: apt-get download $* failed (run apt-get update?)" >&2; exit 1; }
  local p deb
  for p in "$@"; do
    deb=$(compgen -G "$WORK/debs/${p}_*.deb" | awk 'NR == 1')
    dpkg -x "$deb" "$into"
    echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version) -> $([[ $into == "$DEST" ]] && echo core || echo fallback)" >>"$DEST/manifest.txt"
  done
}

echo "prepare_deps: downloading ${#CORE[@]} core packages"
fetch "$DEST" "${CORE[@]}"

# --- prune what sprout never uses --------------------------------------------------------
rm -rf "$DEST"/usr/share/{doc,man,lintian,locale} "$DEST"/usr/src
find "$DEST" -name '*.mod' -delete
find "$DEST/$ARCH_LIB" -maxdepth 1 \( -name 'libhdf5_openmpi*.a' -o -name 'libhdf5_openmpi_fortran*' \
  -o -name 'libhdf5_openmpihl_fortran*' -o -name 'libhdf5_openmpi_cpp*' -o -name 'libhdf5_openmpi_hl_cpp*' \
  -o -name 'libboost_program_options.a' \) -delete
rm -f "$DEST"/$ARCH_LIB/hdf5/openmpi/*.a
# Open MPI: C only (no Fortran, Java, C++ bindings, OpenSHMEM).
rm -rf "$DEST/$ARCH_LIB/fortran" "$DEST"/usr/bin/{osh*,shmem*,oshmem*} "$DEST"/usr/bin/*java* "$DEST"/usr/bin/mpif* \
  "$DEST"/usr/bin/mpi{CC,c++,cxx,CXX}* "$DEST"/usr/bin/h5pfc* "$DEST"/usr/bin/h5c++*
find "$DEST/$ARCH_LIB" \( -name 'libmpi_mpifh*' -o -name 'libmpi_usempi*' -o -name 'libmpi_java*' \
  -o -name 'libmpi_cxx*' -o -name 'liboshmem*' -o -name 'libompitrace*' -o -name '*.a' ! -name 'libgtest*' \) -delete
find "$DEST/$ARCH_LIB/openmpi/lib/openmpi3" \( -name 'mca_atomic_*' -o -name 'mca_memheap_*' -o -name 'mca_scoll_*' \
  -o -name 'mca_spml_*' -o -name 'mca_sshmem_*' \) -delete
# Boost: keep the headers <boost/program_options.hpp> reaches (resolved against this
# machine's identical copy), and the CMake package files.
keep=$(echo '#include <boost/program_options.hpp>' | g++ -std=c++17 -x c++ -M - -I"$DEST/usr/include" |
       tr ' \\' '\n\n' | grep "^$DEST/usr/include/boost/" | sort -u)
find "$DEST/usr/include/boost" -type f | sort >"$WORK/all_boost"
comm -23 "$WORK/all_boost" <(echo "$keep") | xargs -r rm -f
find "$DEST/usr/include/boost" -type d -empty -delete
find "$DEST/$ARCH_LIB/cmake" -maxdepth 1 -type d -name 'boost_*' ! -name 'boost_headers-*' \
  ! -name 'boost_program_options-*' -exec rm -rf {} +

# --- shared-library closure ---------------------------------------------------------------
# Plugins whose libraries are neither in DEST nor glibc (InfiniBand, UCX, libfabric...) are
# deleted: sprout runs over shared memory and TCP (zlib's plugins are kept: zlib is small). For everything else a missing library's
# Debian package goes to fallback/.
plugin_dirs=("$DEST/$ARCH_LIB/openmpi/lib/openmpi3" "$DEST/$ARCH_LIB/pmix2/lib/pmix" "$DEST/$ARCH_LIB/hwloc")
is_plugin() {
  local d
  [[ $(basename "$1") == libmca_common_* ]] && return 0  # helpers of network plugins (ofi, ucx, verbs)
  for d in "${plugin_dirs[@]}"; do [[ $1 == "$d"/* ]] && return 0; done
  return 1
}
ldconfig -p >"$WORK/ldconfig"
declare -A present
for round in 1 2 3 4 5 6 7 8; do
  present=()
  while IFS= read -r name; do present[$name]=1; done < <(find "$DEST" -name '*.so*' -printf '%f\n')
  missing_pkgs=()
  while IFS= read -r -d '' f; do
    readelf -h "$f" >/dev/null 2>&1 || continue
    for so in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ $so =~ $BASE_RE ]] && continue
      [[ -n ${present[$so]:-} ]] && continue
      if is_plugin "$f" && ! [[ $so =~ ^libz\.so ]]; then rm -f "$f"; echo "pruned plugin ${f#$DEST/} (needs $so)" >>"$DEST/manifest.txt"; break; fi
      path=$(awk -v s="$so" '$1 == s && /x86-64/ && !n++ {print $NF}' "$WORK/ldconfig")
      [[ -n $path ]] || { echo "prepare_deps: ${f#$DEST/} needs $so, not installed here" >&2; exit 1; }
      pkg=$( (dpkg -S "$(realpath "$path")" 2>/dev/null || dpkg -S "$path") | awk -F: 'NR == 1 {print $1}')
      missing_pkgs+=("$pkg")
      echo "needs $so ($pkg): ${f#$DEST/}" >>"$DEST/manifest.txt"
    done
  done < <(find "$DEST" \( -name '*.so*' -o -path '*/bin/*' \) -type f -print0)
  mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u | sed '/^$/d')
  ((${#missing_pkgs[@]})) || break
  echo "prepare_deps: round $round: fallback ${missing_pkgs[*]}"
  fetch "$DEST/fallback" "${missing_pkgs[@]}"
  rm -rf "$DEST"/fallback/usr/share "$DEST"/fallback/etc "$DEST"/fallback/usr/bin "$DEST"/fallback/usr/sbin
done

# Absolute symlinks would point into this machine's /: make them relative to DEST.
while IFS= read -r -d '' l; do
  t=$(readlink "$l")
  [[ $t == /* ]] || continue
  top=$DEST; [[ $l == "$DEST/fallback/"* ]] && top=$DEST/fallback
  ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$top$t")" "$l"
done < <(find "$DEST" -type l -print0)

size=$(du -sm "$DEST" | cut -f1)
echo "prepare_deps: $DEST holds ${size} MB ($(wc -l <"$DEST/manifest.txt") manifest lines)"
((size < 60)) || { echo "prepare_deps: over 60 MB" >&2; exit 1; }
