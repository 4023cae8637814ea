// fedcl.save_dir: every model of a `sprout fedcl` run as a checkpoint, so that `sprout
// merge`, `sprout inspect`, `--init.from` and `--resume` can take them up:
//   <save_dir>/base.h5                       θ_0 (after the warm-up, or fedcl.base's)
//   <save_dir>/round-<r>/expert-task-<t>.h5  the expert of task t (fedcl.split = tasks)
//   <save_dir>/round-<r>/client-<c>.h5       client c's model after its training (other splits)
//   <save_dir>/round-<r>/<method>.h5         each merged model (Note [Merged checkpoints])
// Experts are training checkpoints of their own runs (optimizer state included); merged
// models are built from the base's checkpoint. Every file is written atomically.
#pragma once

#include <string>
#include <vector>

#include "merge/tensor_bundle.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/comm/communicator.h"

namespace sprout::launch {

class Trainer;

class FedclFiles {
 public:
  explicit FedclFiles(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }

  // Collective over the world.
  void save_base(runtime::Communicator& world, const runtime::CheckpointContent& base);
  // Collective over the expert's node group, right after its training; `path` is
  // expert_path() or client_path().
  void save_expert(runtime::Communicator& group, Trainer& trainer, const std::string& path);
  // Collective over the world.
  void save_merged(runtime::Communicator& world, int round, const std::string& method, double lambda,
                   int experts, const merge::TensorBundle& merged);

  std::string expert_path(int round, int task) const;
  std::string client_path(int round, int client) const;
  // Every file a run of `rounds` rounds, `tasks` tasks, `clients` clients (0 under split =
  // tasks) and these merge methods may write.
  std::vector<std::string> planned_paths(int rounds, int tasks, int clients,
                                         const std::vector<std::string>& methods) const;
  // Throws ConfigError naming `option` when `input` is one of the planned files (compared
  // by identity: runtime/file_identity.h), which the run would overwrite. Local.
  void refuse_overwriting(const std::string& input, const std::string& option, int rounds, int tasks, int clients,
                          const std::vector<std::string>& methods) const;
  int64_t files() const { return files_; }  // written by this rank's communicators

 private:
  std::string dir_;
  runtime::CheckpointContent base_;
  int64_t files_ = 0;
};

}  // namespace sprout::launch
