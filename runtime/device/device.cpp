#include "runtime/device/device.h"

#include <unistd.h>

#include <map>
#include <sstream>

#include <torch/cuda.h>

#include "runtime/comm/nccl_bootstrap.h"
#include "runtime/error.h"
#include "runtime/settings.h"

namespace sprout::runtime {

// Messages name the DeviceRequest fields (SettingError); launch rewords them with option names.
const char* const kNcclMissing = "nccl, but this sprout was built without NCCL (configure with -DSPROUT_WITH_NCCL=ON)";

const char* to_string(DeviceKind kind) { return kind == DeviceKind::Cuda ? "cuda" : "cpu"; }
const char* to_string(BackendKind kind) { return kind == BackendKind::Nccl ? "nccl" : "mpi"; }

std::string DeviceChoice::describe() const { return concat(to_string(device), "/", to_string(backend)); }

void validate_device_request(const DeviceRequest& r) {
  if (r.device != "auto" && r.device != "cpu" && r.device != "cuda") {
    throw SettingError("device", concat("'", r.device, "' is not one of auto, cpu, cuda"));
  }
  if (r.backend != "auto" && r.backend != "mpi" && r.backend != "nccl") {
    throw SettingError("backend", concat("'", r.backend, "' is not one of auto, mpi, nccl"));
  }
  if (r.backend == "nccl" && r.device == "cpu") {
    throw SettingError("backend", "nccl carries CUDA tensors only; it needs {device} cuda (or auto), not cpu");
  }
}

std::string gpu_sharing(const std::vector<RankGpu>& ranks) {
  std::map<std::pair<std::string, std::string>, size_t> first_user;  // (host, gpu) -> rank
  for (size_t r = 0; r < ranks.size(); ++r) {
    const auto& g = ranks[r];
    if (g.gpu_id.empty()) {
      if (g.gpus < g.local_size) return concat("a node runs ", g.local_size, " ranks on ", g.gpus, " GPU(s)");
      continue;
    }
    const auto [it, fresh] = first_user.emplace(std::make_pair(g.host, g.gpu_id), r);
    if (!fresh) return concat("ranks ", it->second, " and ", r, " on node ", g.host, " both use GPU ", g.gpu_id);
  }
  return "";
}

namespace {

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// RankGpu as one line for allgather_strings, and back.
std::string encode(const DeviceProbe& p) { return concat(p.host, "\t", p.gpu_id, "\t", p.gpus, "\t", p.local_size); }

RankGpu decode(const std::string& line) {
  RankGpu g;
  std::istringstream in(line);
  std::string gpus, local_size;
  std::getline(in, g.host, '\t');
  std::getline(in, g.gpu_id, '\t');
  std::getline(in, gpus, '\t');
  std::getline(in, local_size, '\t');
  g.gpus = std::stoi(gpus);
  g.local_size = std::stoi(local_size);
  return g;
}

}  // namespace

DeviceProbe probe_device(int local_size, int local_rank) {
  DeviceProbe p;
  p.torch_cuda = torch::cuda::is_available();
  p.gpus = p.torch_cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  p.nccl = nccl_built();
  p.local_size = local_size;
  p.host = this_host();
  if (p.gpus > 0) p.gpu_id = gpu_bus_id(gpu_for_local_rank(local_rank_from_environment(local_rank), p.gpus));
  p.gpu_sharing = gpu_sharing({RankGpu{p.host, p.gpu_id, p.gpus, p.local_size}});
  return p;
}

DeviceProbe agree_probe(Communicator& comm, const DeviceProbe& mine) {
  // One MIN allreduce: capabilities as they are, the node size negated (its MAX).
  auto t = torch::tensor({static_cast<int64_t>(mine.torch_cuda), static_cast<int64_t>(mine.gpus),
                          static_cast<int64_t>(mine.nccl), -static_cast<int64_t>(mine.local_size)},
                         torch::kInt64);
  comm.allreduce(t, ReduceOp::Min);
  auto a = t.accessor<int64_t, 1>();
  DeviceProbe p;
  p.torch_cuda = a[0] != 0;
  p.gpus = static_cast<int>(a[1]);
  p.nccl = a[2] != 0;
  p.local_size = static_cast<int>(-a[3]);
  p.host = mine.host;
  p.gpu_id = mine.gpu_id;
  // Which GPU every rank would use: the same answer on every rank.
  std::vector<RankGpu> ranks;
  for (const auto& line : allgather_strings(comm, encode(mine))) ranks.push_back(decode(line));
  p.gpu_sharing = gpu_sharing(ranks);
  return p;
}

DeviceChoice choose_device(const DeviceRequest& request, const DeviceProbe& p) {
  validate_device_request(request);
  const bool gpu_usable = p.torch_cuda && p.gpus > 0;
  const bool want_cuda = request.device == "cuda" || (request.device == "auto" && request.backend == "nccl");
  DeviceChoice c;
  if (want_cuda) {
    const std::string setting = request.device == "cuda" ? "device" : "backend";
    const std::string value = request.device == "cuda" ? "cuda" : "nccl";
    if (!p.torch_cuda) {
      throw SettingError(setting, value + " needs a LibTorch built with CUDA, and this sprout's LibTorch has none "
                                          "(or no CUDA driver)");
    }
    if (p.gpus <= 0) {
      throw SettingError(setting, value + " needs a GPU, but none is visible on at least one rank "
                                          "(check CUDA_VISIBLE_DEVICES)");
    }
    c.device = DeviceKind::Cuda;
  } else if (request.device == "auto") {
    c.device = gpu_usable ? DeviceKind::Cuda : DeviceKind::Cpu;
  }
  if (c.device == DeviceKind::Cpu) return c;  // backend mpi (nccl with cpu was rejected above)

  const bool one_gpu_per_rank = p.gpu_sharing.empty();
  if (request.backend == "nccl") {
    if (!p.nccl) throw SettingError("backend", kNcclMissing);
    if (!one_gpu_per_rank) {
      throw SettingError("backend", concat("nccl needs one GPU per rank, but ", p.gpu_sharing,
                                           "; start fewer ranks per node or use {backend} mpi"));
    }
    c.backend = BackendKind::Nccl;
  } else if (request.backend == "auto") {
    c.backend = p.nccl && one_gpu_per_rank ? BackendKind::Nccl : BackendKind::Mpi;
  }
  return c;
}

}  // namespace sprout::runtime
