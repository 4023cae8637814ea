// The entry points of a program that uses sprout as a library (launch/api/README.md).
//
//   int main(int argc, char** argv) {
//     sprout::api::Session session(argc, argv);              // MPI and the communicator
//     return session.run([&] {
//       sprout::api::Training run(session, {"--data.dir", dir, "--model.kind", "mlp"});
//       auto result = run.run();                             // collective
//     });
//   }
//
// A Training takes `sprout train`'s options (the option reference in launch/README.md),
// so a program's run and the sprout program's are the same run: same loop, engine,
// optimizers, checkpoints, growth schedule and evaluation.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "launch/checkpoint/checkpointer.h"
#include "launch/train/device_session.h"
#include "launch/train/trainer.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/context.h"

namespace sprout::api {

// MPI (with thread support) and the world communicator, for the life of the object: one per
// process, created before anything else of sprout's and destroyed last (MPI_Finalize).
class Session {
 public:
  Session(int& argc, char**& argv);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  runtime::RuntimeContext& context() { return ctx_; }
  runtime::Communicator& comm() { return *world_; }
  int rank() const { return ctx_.rank(); }
  int size() const { return ctx_.size(); }
  bool is_root() const { return ctx_.is_root(); }

  // Runs `body` as the sprout program runs a command (Note [Error agreement] in
  // launch/cli/rank_agreement.h) and returns main's status: 0; the agreed status of a
  // failure every rank saw (an invalid option: one line from rank 0, status 2); any other
  // exception ends the whole job at once with one line "sprout: rank R: ..." and status 2
  // for a ConfigError, else 1, so no rank waits for a rank that failed.
  int run(const std::function<void()>& body);

 private:
  runtime::MpiEnvironment env_;
  std::unique_ptr<runtime::Communicator> world_;
  runtime::RuntimeContext ctx_;
};

// One data-parallel training run. Collective: every rank constructs it with the same options.
class Training {
 public:
  // Parses and checks `options` on every rank (an invalid one: AgreedExit(2) after one line),
  // takes checkpoint.dir's lock, reads --init.from, opens the device, then loads the data
  // and builds the model (its family from model.kind: built-in or registered by the
  // program), the optimizer and the engine.
  Training(Session& session, const std::vector<std::string>& options);
  ~Training();

  // Broadcasts rank 0's replica, resumes from a checkpoint (--resume), trains with the
  // growth schedule and checkpoints, and evaluates at the end. Collective.
  launch::TrainResult run();
  // Test accuracy and loss of the current model. Collective.
  launch::Evaluation evaluate() { return trainer_->evaluate(); }

  growth::Model& model() { return trainer_->model(); }
  launch::Trainer& trainer() { return *trainer_; }
  const launch::TrainConfig& config() const { return trainer_->config(); }

 private:
  std::unique_ptr<runtime::CheckpointDirLock> dir_lock_;
  launch::DeviceSession device_;
  std::unique_ptr<launch::Trainer> trainer_;
};

}  // namespace sprout::api
