// Stop requests from the outside world: SIGUSR1 (Slurm's warning before a time limit,
// forwarded by cluster/train.sbatch) and SIGTERM.
//
// A signal handler may only set a flag, and ranks receive signals at different moments,
// so the decision is collective: at a step boundary every rank contributes its flag to one
// MAX allreduce (the trainer's step agreement: Note [Step agreement] in
// launch/train/trainer.cpp), and all ranks stop after the same step.
//
// Note [Signal flag]: the flag is the one process-wide mutable state in sprout; signal
// handlers cannot reach anything else.
#pragma once

namespace sprout::runtime {

// Exit status of a job that stopped on request after writing a checkpoint (EX_TEMPFAIL:
// "try again"); cluster/train.sbatch requeues on it.
inline constexpr int kStoppedForRequeue = 75;

// Installs the SIGUSR1/SIGTERM handlers (idempotent).
void install_stop_handlers();
// This process received a stop signal.
bool stop_signal_received();
// Test hook: behave as if the signal had arrived.
void request_stop_for_test();

}  // namespace sprout::runtime
