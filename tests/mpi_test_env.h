// Access to the MPI world for tests run under mpiexec (see tests/mpi_main.cpp).
#pragma once

#include "runtime/comm/communicator.h"
#include "runtime/comm/mpi_communicator.h"

namespace sprout::testing {

// The job's world communicator (valid for the whole test run).
runtime::Communicator& world();
runtime::MpiEnvironment& mpi_env();

}  // namespace sprout::testing
