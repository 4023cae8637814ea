// The offline merge of `sprout merge`: expert checkpoint files -> one merged checkpoint.
//
// Collective over `comm` (any number of ranks):
//  1. every rank opens every input for streaming (metadata only) and checks that each
//     expert holds the base's architecture and tensors;
//  2. the base is read collectively (its non-tensor parts make the output: Note [Merged
//     checkpoints]);
//  3. tensor i (in path order) is merged by rank i mod W: it reads that tensor of every
//     expert — one tensor per expert in memory at a time — and merges it by its role
//     (merge_tensor); then every merged tensor is broadcast from its rank;
//  4. the merged checkpoint is written collectively and renamed into place.
// Failures in 1–3 (a missing or damaged file, another architecture, a missing tensor, a
// checksum mismatch, non-finite values, a bad λ) are agreed: every rank throws the same
// error (ConfigError for unusable inputs, CheckpointError for unreadable files), and no
// output file appears. Because the merge is per tensor, the result equals the in-memory
// merge_bundles() of the same models bit for bit, on any number of ranks.
#pragma once

#include <string>
#include <vector>

#include "merge/method.h"
#include "runtime/comm/communicator.h"

namespace sprout::merge {

struct OfflineMergeOptions {
  std::string method = "magmax";
  MergeOptions merge;
  std::string base;
  std::vector<std::string> experts;
  std::string out;
};

struct OfflineMergeResult {
  double lambda = 0;
  int64_t tensors = 0;       // merged tensors in all
  int64_t tensors_here = 0;  // merged by this rank
};

OfflineMergeResult merge_checkpoint_files(runtime::Communicator& comm, const OfflineMergeOptions& options);

}  // namespace sprout::merge
