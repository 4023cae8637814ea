#include "launch/train/stored_normalization.h"

#include <cmath>

#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {

namespace {

constexpr const char* kMean = "/normalization/mean";
constexpr const char* kStd = "/normalization/std";

}  // namespace

data::Normalization compute_normalization(runtime::Communicator& comm, const data::Dataset& train) {
  comm.set_phase("input normalisation");
  return data::compute_normalization(train, comm.rank(), comm.size(), [&comm](std::vector<double>& v) {
    auto t = torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kFloat64);  // shares v
    comm.allreduce(t, runtime::ReduceOp::Sum);
  });
}

void store_normalization(runtime::CheckpointContent& content, const data::Normalization& norm) {
  if (!norm.known()) return;
  content.tensors[kMean].value = torch::tensor(norm.mean, torch::kFloat64);
  content.tensors[kStd].value = torch::tensor(norm.stddev, torch::kFloat64);
}

std::optional<data::Normalization> stored_normalization(const runtime::CheckpointContent& content,
                                                        const std::string& where) {
  const auto* mean = content.find_tensor(kMean);
  const auto* sd = content.find_tensor(kStd);
  if (!mean && !sd) return std::nullopt;
  SPROUT_CHECK(mean && sd, CheckpointError, where, ": ", mean ? kStd : kMean, " is missing (", mean ? kMean : kStd,
               " is there)");
  for (const auto* t : {mean, sd}) {
    SPROUT_CHECK(t->error.empty(), CheckpointError, where, ": ", t == mean ? kMean : kStd, ": ", t->error);
    SPROUT_CHECK(t->value.scalar_type() == torch::kFloat64 && t->value.dim() == 1 && t->value.numel() > 0,
                 CheckpointError, where, ": ", t == mean ? kMean : kStd, " has dtype ", t->value.scalar_type(),
                 " and shape ", runtime::shape_string(t->value.sizes()), ", expected float64 (channels)");
  }
  SPROUT_CHECK(mean->value.numel() == sd->value.numel(), CheckpointError, where, ": ", kMean, " has ",
               mean->value.numel(), " channels, ", kStd, " ", sd->value.numel());
  data::Normalization n;
  const auto m = mean->value.contiguous(), s = sd->value.contiguous();
  n.mean.assign(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
  n.stddev.assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  for (size_t c = 0; c < n.mean.size(); ++c) {
    SPROUT_CHECK(std::isfinite(n.mean[c]) && std::isfinite(n.stddev[c]) && n.stddev[c] > 0, CheckpointError, where,
                 ": channel ", c, " has mean ", n.mean[c], " and std ", n.stddev[c], " (finite, std > 0 expected)");
  }
  return n;
}

}  // namespace sprout::launch
