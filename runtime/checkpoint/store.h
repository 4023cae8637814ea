// A directory of checkpoints: file names, the commit protocol, the `latest` pointer and
// pruning.
//
// Names: step-<8+ digits>[-<tag>].h5, e.g. step-00000100.h5, step-00000100-mytag.h5.
// Order, oldest to newest: by step; at one step the untagged file comes first, then the
// tags in the caller's TagOrder (whoever names its checkpoints knows what its tags mean),
// then any other tags alphabetically.
//
// Commit protocol (commit_checkpoint, collective; begin_commit and complete_commit are
// its two halves, with each rank's write_shard in between — on a background thread for
// asynchronous saves, runtime/checkpoint/async_save.h):
//   1. rank 0 creates the directory (its failure is agreed: every rank throws);
//   2. <name>.tmp is written (runtime/checkpoint/writer.h: rank 0 lays out the structure,
//      every rank writes its rows and fdatasyncs, the checksums are agreed) — a
//      temporary name that does not end in .h5, so a killed writer never leaves anything
//      that looks like a checkpoint; a failing disk (full, EIO) throws the lowest failing
//      rank's own message, naming the file and the tensor, on every rank, and rank 0
//      removes the temporary file;
//   3. every rank fdatasyncs its own rows as part of its write, and rank 0 fsyncs the file
//      after storing the checksums;
//   4. rank 0 renames <name>.tmp to <name>, fsyncs the directory, replaces `latest` (a
//      one-line text file naming the newest checkpoint) by writing latest.tmp and
//      renaming it over `latest` (atomic), fsyncs the directory again, and prunes;
//   5. rank 0's outcome is broadcast; on failure every rank throws the same error.
//
// Pruning counts only checkpoints that verify (runtime/checkpoint/verify.h: the file-level
// checks of a resume) toward `keep`; it removes regular files only — never a directory,
// FIFO, symlink or device that happens to carry a checkpoint name — and never a file that
// does not verify (left for the user to inspect).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/writer.h"
#include "runtime/comm/communicator.h"

namespace sprout::runtime {

struct CheckpointName {
  int64_t step = 0;
  std::string tag;  // "" or [a-z0-9-]+
};

// The order of tags at one step, oldest first (after the untagged file).
using TagOrder = std::vector<std::string>;

// Throws ConfigError for a negative step or a tag other than [a-z0-9-]+.
std::string checkpoint_file_name(int64_t step, const std::string& tag = "");
// The name's step and tag, or nothing if `file_name` is not a checkpoint name (a
// temporary file, `latest`, anything else).
std::optional<CheckpointName> parse_checkpoint_name(const std::string& file_name);
// True if checkpoint `a` is older than `b` (the order above).
bool checkpoint_older(const CheckpointName& a, const CheckpointName& b, const TagOrder& tags);

// Entries of `dir` with checkpoint names, newest first (none if `dir` does not exist).
// Names only: an entry may be anything (see pruning above).
std::vector<std::string> list_checkpoints(const std::string& dir, const TagOrder& tags);
// The file name `latest` points at, or "" if there is no pointer (or it is not a small
// regular file naming a checkpoint).
std::string read_latest(const std::string& dir);

// "" if the file at `path` is a usable checkpoint, else why not.
using CheckpointCheck = std::function<std::string(const std::string& path)>;
// checkpoint_file_problem (runtime/checkpoint/verify.h), remembered per file (device,
// inode, size, modification time) so that each file is read once per process.
std::string cached_checkpoint_problem(const std::string& path);

struct PruneRules {
  int keep = 0;                    // verified checkpoints kept (<= 0: none removed)
  TagOrder tags;                   // the order of the caller's tags
  CheckpointCheck check = cached_checkpoint_problem;
};

// Keeps the newest `rules.keep` checkpoints of `dir` that pass `rules.check` and
// `protect`, and removes the other regular files that pass it; removes temporary files
// left by killed writers (<checkpoint name>.tmp, latest.tmp; regular files only). Local
// (rank 0 calls it). Returns the removed file names.
std::vector<std::string> prune_checkpoints(const std::string& dir, const PruneRules& rules,
                                           const std::string& protect);

struct CommitResult {
  std::string path;                  // the committed file
  WriteStats write;                  // the HDF5 write (this rank's view)
  std::vector<std::string> removed;  // pruned file names (rank 0)
  double seconds = 0;                // the whole protocol
};

// Steps 1 and 2's layout: the directory and the structure of <name>.tmp. `pieces`: this
// rank's share of the tensors (shard_views, or a snapshot of it: async_save.h), in path
// order; they must stay unchanged until write_shard(pending.file.plan) returns.
struct PendingCommit {
  std::string dir, file_name;
  PreparedFile file;  // file.plan is what write_shard writes
};
PendingCommit begin_commit(Communicator& comm, const std::string& dir, const std::string& file_name,
                           const CheckpointContent& content, std::vector<ShardPiece> pieces);
// Steps 2 (agreement, checksums) to 5, after this rank's write_shard returned `mine`:
// seal_commit, then on rank 0 prune_victims and publish_checkpoint, then conclude_commit.
CommitResult complete_commit(Communicator& comm, const PendingCommit& pending, const ShardResult& mine,
                             const PruneRules& rules);

// The pieces of complete_commit, for a caller that runs step 4 on a background thread:
//  - seal_commit: collective; agrees every rank's write, stores the checksums (rank 0).
//  - prune_victims: rank 0, before publishing (it may verify files: serial HDF5); the
//    files pruning removes once `protect` is committed.
//  - publish_checkpoint: rank 0, local, plain POSIX (no MPI, no HDF5: any thread):
//    fsync, rename, `latest`, removal of the victims and stale temporary files.
//  - conclude_commit: collective; rank 0's outcome, the same on every rank.
struct Publication {
  std::vector<std::string> removed;
  std::string error;  // "" on success
};
WriteStats seal_commit(Communicator& comm, const PendingCommit& pending, const ShardResult& mine);
std::vector<std::string> prune_victims(const std::string& dir, const PruneRules& rules, const std::string& protect);
Publication publish_checkpoint(const std::string& dir, const std::string& file_name,
                               const std::vector<std::string>& victims);
CommitResult conclude_commit(Communicator& comm, const PendingCommit& pending, const WriteStats& stats,
                             const Publication& publication);

// The commit protocol above, in one call. Collective. Throws CheckpointError on every
// rank on failure.
CommitResult commit_checkpoint(Communicator& comm, const std::string& dir, const std::string& file_name,
                               const CheckpointContent& content, const PruneRules& rules);

}  // namespace sprout::runtime
