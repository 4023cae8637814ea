// libFuzzer target: the checkpoint loader. The input is written to a file and read as a
// checkpoint by one rank (parallel HDF5 over MPI-IO, as in a job), then its architecture
// and growth history are parsed as a restore would. Any input must either load or be
// rejected with a sprout error — never crash, hang or leak.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "growth/models/arch.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/error.h"
#include "runtime/comm/mpi_communicator.h"

namespace {
std::unique_ptr<sprout::runtime::MpiEnvironment> g_env;
std::unique_ptr<sprout::runtime::Communicator> g_comm;
std::string g_path;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  g_env = std::make_unique<sprout::runtime::MpiEnvironment>(argc, argv);
  g_comm = g_env->world();
  g_comm->set_timeout(0);  // one rank: nothing to wait for
  g_path = "/tmp/sprout-fuzz-checkpoint-" + std::to_string(::getpid()) + ".h5";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(g_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    auto content = sprout::runtime::read_checkpoint_file(*g_comm, g_path);
    if (const auto* arch = content.find_group("/architecture")) {
      sprout::growth::ArchSpec::parse(sprout::runtime::attr_string(*arch, "spec", "fuzz"));
    }
  } catch (const sprout::Error&) {
  }
  std::remove(g_path.c_str());
  return 0;
}
