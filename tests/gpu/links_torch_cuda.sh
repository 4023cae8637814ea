#!/usr/bin/env bash
# links_torch_cuda.sh HAS_CUDA BINARY...: when LibTorch has CUDA (HAS_CUDA is ON), every
# BINARY must list libtorch_cuda among its needed libraries (readelf -d). Without it LibTorch
# registers no CUDA, every GPU test skips, and a skip is not a failure. When LibTorch has no
# CUDA the check has nothing to look at: it says so and passes.
set -uo pipefail
has_cuda=$1
shift
case $has_cuda in
  ON|on|1|TRUE|true) ;;
  *) echo "links_torch_cuda: LibTorch has no CUDA (SPROUT_TORCH_HAS_CUDA=$has_cuda): nothing to check, passing"
     exit 0 ;;
esac
command -v readelf >/dev/null || { echo "links_torch_cuda: readelf (binutils) not found" >&2; exit 1; }
status=0
for binary in "$@"; do
  needed=$(readelf -d "$binary" 2>/dev/null | awk '/\(NEEDED\)/ {gsub(/[][]/, "", $NF); print $NF}')
  if grep -q '^libtorch_cuda\.so' <<<"$needed"; then
    echo "links_torch_cuda: $(basename "$binary") needs libtorch_cuda: ok"
  else
    echo "links_torch_cuda: $(basename "$binary") does not need libtorch_cuda (dropped at link time?); it needs:" >&2
    sed 's/^/  /' <<<"$needed" >&2
    status=1
  fi
done
exit $status
