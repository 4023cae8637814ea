# Shared set-up of the results scripts (launch/scripts/*_results.sh), sourced after ROOT is set:
# MPI as root, one BLAS thread per rank, a built `sprout` (else launch/scripts/setup.sh builds it)
# and Debian's matplotlib for the plots (installed with apt when missing).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

# results_setup NAME BIN: builds BIN when missing and installs python3-matplotlib.
results_setup() {
  local name=$1 bin=$2
  [[ -x $bin ]] || "$ROOT/launch/scripts/setup.sh"
  if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
    echo "$name: installing python3-matplotlib"
    local sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends python3-matplotlib
  fi
}
