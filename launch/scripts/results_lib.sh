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

# results_cpu_line NAME: one line with the wall time since the script started and the CPU time
# of every process it ran (all ranks, from /proc: the script's reaped children). CPU seconds ÷
# ranks is about the wall time the runs need on that many quiet cores, which a loaded machine's
# wall time does not show.
results_cpu_line() {
  local f
  read -r -a f </proc/$$/stat
  local cpu=$(( (f[15] + f[16]) / $(getconf CLK_TCK) ))
  echo "$1: wall $SECONDS s, CPU of all processes $cpu s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
}
