#include "launch/fedcl/files.h"

#include "launch/checkpoint/run_state.h"
#include "launch/train/trainer.h"
#include "merge/checkpoint_files.h"
#include "runtime/error.h"
#include "runtime/file_identity.h"

namespace sprout::launch {

void FedclFiles::save_base(runtime::Communicator& world, const runtime::CheckpointContent& base) {
  base_ = base;
  merge::write_checkpoint_atomically(world, dir_ + "/base.h5", base_);
  ++files_;
}

std::string FedclFiles::expert_path(int round, int task) const {
  return concat(dir_, "/round-", round, "/expert-task-", task, ".h5");
}

std::string FedclFiles::client_path(int round, int client) const {
  return concat(dir_, "/round-", round, "/client-", client, ".h5");
}

std::vector<std::string> FedclFiles::planned_paths(int rounds, int tasks, int clients,
                                                   const std::vector<std::string>& methods) const {
  std::vector<std::string> out{dir_ + "/base.h5"};
  for (int r = 1; r <= rounds; ++r) {
    for (int t = 0; t < tasks; ++t) out.push_back(expert_path(r, t));
    for (int c = 0; c < clients; ++c) out.push_back(client_path(r, c));
    for (const auto& m : methods) out.push_back(concat(dir_, "/round-", r, "/", m, ".h5"));
  }
  return out;
}

void FedclFiles::refuse_overwriting(const std::string& input, const std::string& option, int rounds, int tasks,
                                    int clients, const std::vector<std::string>& methods) const {
  if (!enabled() || input.empty()) return;
  const auto in = runtime::file_identity(input);
  for (const auto& out : planned_paths(rounds, tasks, clients, methods)) {
    // An output is first written as <path>.tmp, then renamed over <path>.
    for (const auto& written : {out, out + ".tmp"}) {
      SPROUT_CHECK(runtime::file_identity(written) != in, ConfigError, "--", option, ": '", input,
                   "' is the file '", written, "' that fedcl.save_dir would overwrite");
    }
  }
}

void FedclFiles::save_expert(runtime::Communicator& group, Trainer& trainer, const std::string& path) {
  merge::write_checkpoint_atomically(group, path, capture_training_state(trainer, "expert"));
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
                                                          "round-*/expert-task-*.h5 or round-*/client-*.h5 of the rounds "
                                                          "merged")}};
  merge::write_checkpoint_atomically(world, concat(dir_, "/round-", round, "/", method, ".h5"),
                                     merge::merged_checkpoint(base_, merged, attrs));
  ++files_;
}

}  // namespace sprout::launch
