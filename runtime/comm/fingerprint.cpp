#include "runtime/comm/fingerprint.h"

#include "runtime/error.h"
#include "runtime/optim/optimizer.h"
#include "runtime/tensor_util.h"

namespace sprout::runtime {

std::vector<std::pair<std::string, torch::Tensor>> fingerprint_tensors(const ParamSet& params,
                                                                       const Optimizer* optimizer) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    out.emplace_back(params.parameter_name(i), params.parameter(i));
  }
  for (size_t i = 0; i < params.buffers().size(); ++i) {
    out.emplace_back(params.buffer_names()[i], params.buffers()[i]);
  }
  if (optimizer) {
    if (optimizer->state_is_sharded()) {
      // Pieces differ by rank by design; what must agree is how the space is cut.
      out.emplace_back("optimizer shard plan", optimizer->plan().describe());
    } else {
      for (const auto& [name, slots] : optimizer->state()) {
        for (const auto& [slot, t] : slots) out.emplace_back("optimizer " + name + "." + slot, t);
      }
    }
    for (const auto& [name, t] : optimizer->lr_scales()) {
      out.emplace_back("optimizer " + name + ".lr_scale", t);
    }
  }
  return out;
}

void verify_identical(Communicator& comm, const ParamSet& params, const Optimizer* optimizer,
                      const std::string& context) {
  const auto tensors = fingerprint_tensors(params, optimizer);
  // Manifest: names, dtypes, shapes. Compared first so the per-tensor gather below always
  // has the same length on every rank.
  uint64_t manifest = 1469598103934665603ULL;
  auto mix = [&manifest](uint64_t v) { manifest = (manifest ^ v) * 1099511628211ULL; };
  for (const auto& [name, t] : tensors) {
    for (char c : name) mix(static_cast<uint8_t>(c));
    mix(static_cast<uint64_t>(t.scalar_type()));
    for (auto d : t.sizes()) mix(static_cast<uint64_t>(d));
  }
  auto m = torch::tensor({static_cast<int64_t>(manifest)}, torch::kInt64);
  auto all_m = comm.allgather(m).view({-1});
  for (int r = 1; r < comm.size(); ++r) {
    if (all_m[r].item<int64_t>() != all_m[0].item<int64_t>()) {
      throw SurgeryError(concat(context, ": rank ", r, " has a different set of tensors (names or shapes) than rank 0"));
    }
  }
  auto h = torch::empty({static_cast<int64_t>(tensors.size())}, torch::kInt64);
  for (size_t i = 0; i < tensors.size(); ++i) {
    h[static_cast<int64_t>(i)] = static_cast<int64_t>(tensor_hash(tensors[i].second));
  }
  auto all = comm.allgather(h);  // (size, n)
  auto acc = all.accessor<int64_t, 2>();
  for (size_t i = 0; i < tensors.size(); ++i) {
    for (int r = 1; r < comm.size(); ++r) {
      if (acc[r][static_cast<int64_t>(i)] != acc[0][static_cast<int64_t>(i)]) {
        throw SurgeryError(concat(context, ": ", tensors[i].first, " differs between rank 0 and rank ", r));
      }
    }
  }
}

}  // namespace sprout::runtime
