#include "runtime/comm/hierarchical_allreduce.h"

#include <algorithm>
#include <limits>

#include "runtime/comm/abandon.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/error.h"

namespace sprout::runtime {

namespace {

void check_bucket(const torch::Tensor& flat, const char* what) {
  SPROUT_CHECK(flat.defined() && flat.is_contiguous() && flat.device().is_cpu() && flat.dim() == 1 &&
                   flat.is_floating_point(),
               CommError, what, ": bucket must be a 1-D contiguous floating CPU tensor");
  SPROUT_CHECK(flat.numel() <= std::numeric_limits<int>::max(), CommError, what, ": bucket of ", flat.numel(),
               " elements exceeds MPI's int count");
}

torch::Tensor scratch_of(torch::Tensor scratch, const torch::Tensor& flat, int64_t numel) {
  if (scratch.defined() && scratch.numel() >= numel && scratch.scalar_type() == flat.scalar_type()) return scratch;
  return torch::empty({std::max<int64_t>(numel, 1)}, flat.options());
}

}  // namespace

NodeGroups::NodeGroups(MPI_Comm comm, int ranks_per_node) {
  SPROUT_CHECK(ranks_per_node >= 0, ConfigError, "ranks per node must be >= 0 (0: as MPI reports), got ",
               ranks_per_node);
  int rank = 0;
  SPROUT_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  if (ranks_per_node > 0) {
    SPROUT_MPI_CHECK(MPI_Comm_split(comm, rank / ranks_per_node, rank, &node_));
  } else {
    SPROUT_MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node_));
  }
  SPROUT_MPI_CHECK(MPI_Comm_set_errhandler(node_, MPI_ERRORS_RETURN));
  SPROUT_MPI_CHECK(MPI_Comm_rank(node_, &node_rank_));
  SPROUT_MPI_CHECK(MPI_Comm_size(node_, &node_size_));
  SPROUT_MPI_CHECK(MPI_Comm_split(comm, node_rank_ == 0 ? 0 : MPI_UNDEFINED, rank, &leaders_));
  if (leaders_ != MPI_COMM_NULL) SPROUT_MPI_CHECK(MPI_Comm_set_errhandler(leaders_, MPI_ERRORS_RETURN));
  int counts[2] = {node_rank_ == 0 ? 1 : 0, 0}, sizes[2] = {0, node_size_};
  SPROUT_MPI_CHECK(MPI_Allreduce(&counts[0], &counts[1], 1, MPI_INT, MPI_SUM, comm));
  SPROUT_MPI_CHECK(MPI_Allreduce(&sizes[1], &sizes[0], 1, MPI_INT, MPI_MAX, comm));
  node_count_ = counts[1];
  max_node_size_ = sizes[0];
}

NodeGroups::~NodeGroups() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
  if (leaders_ != MPI_COMM_NULL) MPI_Comm_free(&leaders_);
}

// ---- recursive doubling ----------------------------------------------------------------
// n ranks, p the largest power of two <= n, rem = n − p. Ranks below 2·rem pair up: the
// even one sends its buffer to the odd one and waits for the result; the odd one (and every
// rank from 2·rem on) takes part in log2(p) exchanges with the partner whose index differs
// in one bit, each adding the partner's buffer in.

RecursiveDoublingAllreduce::RecursiveDoublingAllreduce(MPI_Comm comm, torch::Tensor flat, torch::Tensor scratch,
                                                       int tag, Watchdog* dog, std::string phase, double timeout_s)
    : comm_(comm), flat_(std::move(flat)), tag_(tag), dog_(dog), phase_(std::move(phase)), timeout_s_(timeout_s) {
  check_bucket(flat_, "recursive doubling allreduce");
  type_ = mpi_datatype(flat_);
  scratch_ = scratch_of(std::move(scratch), flat_, flat_.numel());
  int r = 0, n = 1;
  SPROUT_MPI_CHECK(MPI_Comm_rank(comm_, &r));
  SPROUT_MPI_CHECK(MPI_Comm_size(comm_, &n));
  int p = 1;
  while (p * 2 <= n) p *= 2;
  const int rem = n - p;
  int index = r - rem;  // index among the p ranks of the exchanges; < 0: folded in
  if (r < 2 * rem) {
    if (r % 2 == 0) {
      rounds_.push_back({r + 1, -1, false});
      index = -1;
    } else {
      rounds_.push_back({-1, r - 1, true});
      index = r / 2;
    }
  }
  if (index >= 0) {
    for (int mask = 1; mask < p; mask <<= 1) {
      const int partner_index = index ^ mask;
      const int partner = partner_index < rem ? 2 * partner_index + 1 : partner_index + rem;
      rounds_.push_back({partner, partner, true});
    }
    if (r < 2 * rem) rounds_.push_back({r - 1, -1, false});
  } else {
    rounds_.push_back({-1, r + 1, false});
  }
  if (!rounds_.empty()) post();
}

RecursiveDoublingAllreduce::~RecursiveDoublingAllreduce() {
  if (step_ < rounds_.size()) abandon_unfinished(requests_, 2, flat_, scratch_);
}

void RecursiveDoublingAllreduce::post() {
  const Round& round = rounds_[step_];
  const int count = static_cast<int>(flat_.numel());
  if (round.recv_from >= 0) {
    void* into = round.add ? scratch_.data_ptr() : flat_.data_ptr();
    SPROUT_MPI_CHECK(MPI_Irecv(into, count, type_, round.recv_from, tag_, comm_, &requests_[0]));
  }
  if (round.send_to >= 0) {
    SPROUT_MPI_CHECK(MPI_Isend(flat_.data_ptr(), count, type_, round.send_to, tag_, comm_, &requests_[1]));
  }
}

void RecursiveDoublingAllreduce::complete() {
  if (rounds_[step_].add && flat_.numel() > 0) flat_.add_(scratch_.narrow(0, 0, flat_.numel()));
  ++step_;
  if (step_ < rounds_.size()) post();
}

bool RecursiveDoublingAllreduce::test() {
  while (step_ < rounds_.size()) {
    int flag = 0;
    SPROUT_MPI_CHECK(MPI_Testall(2, requests_, &flag, MPI_STATUSES_IGNORE));
    if (!flag) return false;
    complete();
  }
  return true;
}

void RecursiveDoublingAllreduce::wait() {
  if (step_ >= rounds_.size()) return;
  Watchdog::Guard guard(dog_, "allreduce (recursive doubling)", phase_, timeout_s_);
  while (step_ < rounds_.size()) {
    SPROUT_MPI_CHECK(MPI_Waitall(2, requests_, MPI_STATUSES_IGNORE));
    complete();
  }
}

// ---- hierarchical ----------------------------------------------------------------------

HierarchicalAllreduce::HierarchicalAllreduce(const NodeGroups& groups, torch::Tensor flat, torch::Tensor scratch,
                                             int tag, LeaderAlgorithm leader_algorithm, Watchdog* dog,
                                             std::string phase, double timeout_s)
    : groups_(groups), flat_(std::move(flat)), tag_(tag), leader_algorithm_(leader_algorithm), dog_(dog),
      phase_(std::move(phase)), timeout_s_(timeout_s) {
  check_bucket(flat_, "hierarchical allreduce");
  type_ = mpi_datatype(flat_);
  if (groups_.is_leader()) scratch_ = scratch_of(std::move(scratch), flat_, flat_.numel());
  post_next();
}

HierarchicalAllreduce::~HierarchicalAllreduce() {
  if (stage_ != Stage::Done && !requests_.empty()) abandon_unfinished(requests_.data(), requests_.size(), flat_, scratch_);
}

void HierarchicalAllreduce::post_next() {
  const int count = static_cast<int>(flat_.numel());
  for (;;) {
    switch (stage_) {
      case Stage::Reduce:
        if (!groups_.is_leader()) {
          if (!posted_) {
            requests_.assign(1, MPI_REQUEST_NULL);
            SPROUT_MPI_CHECK(MPI_Isend(flat_.data_ptr(), count, type_, 0, tag_, groups_.node(), &requests_[0]));
            posted_ = true;
            return;
          }
        } else if (next_peer_ < groups_.node_size()) {
          requests_.assign(1, MPI_REQUEST_NULL);
          SPROUT_MPI_CHECK(
              MPI_Irecv(scratch_.data_ptr(), count, type_, next_peer_, tag_, groups_.node(), &requests_[0]));
          return;
        }
        stage_ = Stage::Leaders;
        posted_ = false;
        continue;
      case Stage::Leaders:
        if (groups_.is_leader() && groups_.node_count() > 1 && !posted_) {
          posted_ = true;
          if (leader_algorithm_ == LeaderAlgorithm::Ring) {
            leaders_ = std::make_unique<RingAllreduce>(groups_.leaders(), flat_, scratch_, tag_, dog_, phase_,
                                                       timeout_s_);
          } else {
            leaders_ = std::make_unique<RecursiveDoublingAllreduce>(groups_.leaders(), flat_, scratch_, tag_, dog_,
                                                                    phase_, timeout_s_);
          }
          return;
        }
        stage_ = Stage::Broadcast;
        posted_ = false;
        continue;
      case Stage::Broadcast:
        if (!posted_ && groups_.node_size() > 1) {
          posted_ = true;
          if (groups_.is_leader()) {
            requests_.assign(groups_.node_size() - 1, MPI_REQUEST_NULL);
            for (int peer = 1; peer < groups_.node_size(); ++peer) {
              SPROUT_MPI_CHECK(MPI_Isend(flat_.data_ptr(), count, type_, peer, tag_, groups_.node(),
                                         &requests_[peer - 1]));
            }
          } else {
            requests_.assign(1, MPI_REQUEST_NULL);
            SPROUT_MPI_CHECK(MPI_Irecv(flat_.data_ptr(), count, type_, 0, tag_, groups_.node(), &requests_[0]));
          }
          return;
        }
        stage_ = Stage::Done;
        return;
      case Stage::Done:
        return;
    }
  }
}

void HierarchicalAllreduce::messages_done() {
  requests_.clear();
  if (stage_ == Stage::Reduce && groups_.is_leader()) {
    if (flat_.numel() > 0) flat_.add_(scratch_.narrow(0, 0, flat_.numel()));  // (numel)
    ++next_peer_;
  }
}

bool HierarchicalAllreduce::test() {
  while (stage_ != Stage::Done) {
    if (leaders_) {
      if (!leaders_->test()) return false;
      leaders_.reset();
    } else if (!requests_.empty()) {
      int flag = 0;
      SPROUT_MPI_CHECK(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE));
      if (!flag) return false;
      messages_done();
    }
    post_next();
  }
  return true;
}

void HierarchicalAllreduce::wait() {
  if (stage_ == Stage::Done) return;
  Watchdog::Guard guard(dog_, "allreduce (hierarchical)", phase_, timeout_s_);
  while (stage_ != Stage::Done) {
    if (leaders_) {
      leaders_->wait();
      leaders_.reset();
    } else if (!requests_.empty()) {
      SPROUT_MPI_CHECK(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE));
      messages_done();
    }
    post_next();
  }
}

}  // namespace sprout::runtime
