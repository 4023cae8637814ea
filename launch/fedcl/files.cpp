#include "launch/fedcl/files.h"

#include "launch/checkpoint/run_state.h"
#include "launch/train/trainer.h"
#include "merge/checkpoint_files.h"
#include "runtime/error.h"

namespace sprout::launch {

void FedclFiles::save_base(runtime::Communicator& world, const runtime::CheckpointContent& base) {
  base_ = base;
  merge::write_checkpoint_atomically(world, dir_ + "/base.h5", base_);
  ++files_;
}

std::string FedclFiles::expert_path(int round, int task) const {
  return concat(dir_, "/round-", round, "/expert-task-", task, ".h5");
}

void FedclFiles::save_expert(runtime::Communicator& group, Trainer& trainer, int round, int task) {
  merge::write_checkpoint_atomically(group, expert_path(round, task), capture_training_state(trainer, "expert"));
  ++files_;
}

void FedclFiles::save_merged(runtime::Communicator& world, int round, const std::string& method, double lambda,
                             int experts, const merge::TensorBundle& merged) {
  const runtime::Attributes attrs = {{"method", method},
                                     {"lambda", lambda},
                                     {"round", static_cast<int64_t>(round)},
                                     {"experts", static_cast<int64_t>(experts)},
                                     {"base", dir_ + "/base.h5"},
                                     {"note", std::string("merged collectively by sprout fedcl; the experts are "
                                                          "round-*/expert-task-*.h5 of rounds <= this one")}};
  merge::write_checkpoint_atomically(world, concat(dir_, "/round-", round, "/", method, ".h5"),
                                     merge::merged_checkpoint(base_, merged, attrs));
  ++files_;
}

}  // namespace sprout::launch
