// A directory of checkpoints: file names, the commit protocol, the `latest` pointer and
// pruning.
//
// Names: step-<8+ digits>[-<tag>].h5, e.g. step-00000100.h5, step-00000100-pre-growth.h5.
// Order, oldest to newest: by step; at one step the untagged file (written after the
// step's update) precedes pre-growth, which precedes post-growth (the growth event of the
// next step happens in between); other tags follow alphabetically.
//
// Commit protocol (commit_checkpoint, collective):
//   1. rank 0 creates the directory (its failure is agreed: every rank throws);
//   2. every rank writes <name>.tmp collectively (runtime/checkpoint/writer.h) — a
//      temporary name that does not end in .h5, so a killed writer never leaves anything
//      that looks like a checkpoint;
//   3. every rank fsyncs the file (its own writes on its own node) and the results are
//      agreed by an allreduce, which is also the barrier: all ranks closed the file;
//   4. rank 0 renames <name>.tmp to <name>, fsyncs the directory, replaces `latest` (a
//      one-line text file naming the newest checkpoint) by writing latest.tmp and
//      renaming it over `latest` (atomic), fsyncs the directory again, and prunes;
//   5. rank 0's outcome is broadcast; on failure every rank throws the same error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/writer.h"
#include "runtime/comm/communicator.h"

namespace sprout::runtime {

struct CheckpointName {
  int64_t step = 0;
  std::string tag;  // "" | pre-growth | post-growth | ...
};

// Throws ConfigError for a negative step or a tag other than [a-z0-9-]+.
std::string checkpoint_file_name(int64_t step, const std::string& tag = "");
// The name's step and tag, or nothing if `file_name` is not a checkpoint name (a
// temporary file, `latest`, anything else).
std::optional<CheckpointName> parse_checkpoint_name(const std::string& file_name);
// True if checkpoint `a` is older than `b` (the order above).
bool checkpoint_older(const CheckpointName& a, const CheckpointName& b);

// Checkpoint file names in `dir`, newest first (none if `dir` does not exist).
std::vector<std::string> list_checkpoints(const std::string& dir);
// The file name `latest` points at, or "" if there is no (readable) pointer.
std::string read_latest(const std::string& dir);

// Removes every checkpoint in `dir` but the newest `keep` (keep <= 0: none removed) and
// `protect`, plus temporary files left by killed writers (<checkpoint name>.tmp). Local
// (rank 0 calls it). Returns the removed file names.
std::vector<std::string> prune_checkpoints(const std::string& dir, int keep, const std::string& protect);

struct CommitResult {
  std::string path;                  // the committed file
  WriteStats write;                  // the HDF5 write (this rank's view)
  std::vector<std::string> removed;  // pruned file names (rank 0)
  double seconds = 0;                // the whole protocol
};

// The commit protocol above. Collective. Throws CheckpointError on every rank on failure.
CommitResult commit_checkpoint(Communicator& comm, const std::string& dir, const std::string& file_name,
                               const CheckpointContent& content, int keep);

}  // namespace sprout::runtime
