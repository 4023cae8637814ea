// Virtual clients of `sprout fedcl`: which clients a round samples, which node group trains
// each, which training examples each holds, and what each would send and receive.
// Everything here is a pure function of (seed, round, options, labels): no world size, no
// collectives — so every rank, on any number of ranks, derives the same sample and split.
//
// Note [Clients, sampling and splits]
//  - fedcl.clients virtual clients (default: one per node group). Each round samples
//    max(1, round(fedcl.sample × clients)) of them without replacement (seeded by train.seed
//    and the round); the sampled clients, in increasing id, are dealt to the node groups:
//    the i-th to group i mod groups (balanced), except with fedcl.init = sequential, where
//    client c always goes to group c mod groups so that its state between rounds never
//    moves (each group keeps the states of its own clients only).
//  - fedcl.split says what a client holds of the round's training examples (the classes of
//    the tasks dealt in the round — class-incremental tasks still arrive over rounds):
//      tasks      task t goes whole to client t mod clients (one client per task);
//      iid        the round's examples shuffled and cut into `clients` near-equal shards;
//      dirichlet  Hsu et al. 2019: client c draws class proportions q_c ~ Dir(α·1) over the
//                 round's classes and gets ⌊n / clients⌋ examples in those proportions,
//                 drawn without replacement (a class that runs out is made up from the class
//                 with most examples left). α → 0: one class per client; α → ∞: IID.
//    Each shard lists indices into the training set in increasing order, so one client
//    holding everything sees the data exactly as `sprout train` would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sprout::launch {

// The sampled clients of `round` (0-based), increasing. fraction in (0, 1].
std::vector<int> sample_clients(int clients, double fraction, uint64_t seed, int round);

// The node group that trains `sampled[i]` (Note [Clients, sampling and splits]).
int group_of_sampled(const std::vector<int>& sampled, size_t i, int groups, bool home_groups);
// The clients of `sampled` that node group `group` trains, in order.
std::vector<int> clients_of_group(const std::vector<int>& sampled, int group, int groups, bool home_groups);

// Indices into the training set each client holds in one round: shards[c], increasing.
// `labels` are the whole training set's; `tasks` the round's tasks and their classes.
struct RoundSplit {
  std::vector<std::vector<int64_t>> shards;  // client -> its example indices
  std::vector<int> task_of_client;           // split = tasks: the client's task, or -1; else -1
};
RoundSplit split_round(const std::vector<int64_t>& labels, const std::vector<int>& tasks,
                       const std::vector<std::vector<int64_t>>& task_classes, int clients, const std::string& split,
                       double alpha, uint64_t seed, int round);

// FNV-1a over every shard (sizes and indices): equal hashes, equal splits.
uint64_t split_hash(const RoundSplit& split);

// Bytes one client sends (its model delta) for `method`: dense for every method but ties,
// which needs only each tensor's top ⌈density·n⌉ entries (value + int32 index).
// `tensor_elements`: the element count of each tensor of the model; `element_bytes`: 4 for
// float32.
int64_t upload_bytes(const std::string& method, const std::vector<int64_t>& tensor_elements, int64_t element_bytes,
                     double ties_density);

}  // namespace sprout::launch
