// RuntimeContext: what a component needs to know about the process it runs in.
// Passed explicitly (no globals); tests build their own.
#pragma once

#include "runtime/comm/communicator.h"

namespace sprout::runtime {

struct RuntimeContext {
  Communicator* comm = nullptr;  // the job's world communicator
  int local_rank = 0;            // index among the ranks on this node
  int local_size = 1;            // ranks on this node
  torch::Device device = torch::kCPU;  // where the model and batches live (launch/train/device_session.h)
  bool is_root() const { return comm == nullptr || comm->rank() == 0; }
  int rank() const { return comm ? comm->rank() : 0; }
  int size() const { return comm ? comm->size() : 1; }
};

}  // namespace sprout::runtime
