#include "runtime/comm/communicator.h"

#include <cstring>

namespace sprout::runtime {

const char* to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Avg: return "avg";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "?";
}

double allreduce_scalar(Communicator& comm, double value, ReduceOp op) {
  auto t = torch::tensor({value}, torch::kFloat64);
  comm.allreduce(t, op);
  return t.item<double>();
}

int64_t allreduce_int(Communicator& comm, int64_t value, ReduceOp op) {
  auto t = torch::tensor({value}, torch::kInt64);
  comm.allreduce(t, op);
  return t.item<int64_t>();
}

std::string broadcast_string(Communicator& comm, const std::string& value, int root) {
  auto len = torch::tensor({static_cast<int64_t>(value.size())}, torch::kInt64);
  comm.broadcast(len, root);
  auto bytes = torch::zeros({len.item<int64_t>()}, torch::kUInt8);
  if (comm.rank() == root && !value.empty()) {
    std::memcpy(bytes.data_ptr<uint8_t>(), value.data(), value.size());
  }
  if (bytes.numel() > 0) comm.broadcast(bytes, root);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                     static_cast<size_t>(bytes.numel()));
}

std::vector<std::string> allgather_strings(Communicator& comm, const std::string& value) {
  auto len = torch::tensor({static_cast<int64_t>(value.size())}, torch::kInt64);
  auto lens = comm.allgather(len).view({-1});  // (size)
  const int64_t max_len = lens.max().item<int64_t>();
  auto bytes = torch::zeros({std::max<int64_t>(max_len, 1)}, torch::kUInt8);
  if (!value.empty()) std::memcpy(bytes.data_ptr<uint8_t>(), value.data(), value.size());
  auto all = comm.allgather(bytes);  // (size, max_len)
  std::vector<std::string> out;
  for (int r = 0; r < comm.size(); ++r) {
    const auto* p = all[r].data_ptr<uint8_t>();
    out.emplace_back(reinterpret_cast<const char*>(p), static_cast<size_t>(lens[r].item<int64_t>()));
  }
  return out;
}

}  // namespace sprout::runtime
