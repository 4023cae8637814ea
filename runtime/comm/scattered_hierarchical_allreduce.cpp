#include "runtime/comm/scattered_hierarchical_allreduce.h"

#include <algorithm>

#include "runtime/comm/abandon.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/error.h"

namespace sprout::runtime {

ChunkOwners::ChunkOwners(MPI_Comm comm, const NodeGroups& nodes) : node_size_(nodes.node_size()) {
  int rank = 0;
  SPROUT_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  comms_.assign(static_cast<size_t>(nodes.max_node_size()), MPI_COMM_NULL);
  for (int k = 0; k < nodes.max_node_size(); ++k) {  // every rank takes part in every split
    const bool mine = k % node_size_ == nodes.node_rank();
    SPROUT_MPI_CHECK(MPI_Comm_split(comm, mine ? 0 : MPI_UNDEFINED, rank, &comms_[k]));
    if (mine) SPROUT_MPI_CHECK(MPI_Comm_set_errhandler(comms_[k], MPI_ERRORS_RETURN));
  }
}

ChunkOwners::~ChunkOwners() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  for (auto& c : comms_) {
    if (c != MPI_COMM_NULL) MPI_Comm_free(&c);
  }
}

ScatteredHierarchicalAllreduce::ScatteredHierarchicalAllreduce(const NodeGroups& nodes, const ChunkOwners& owners,
                                                               torch::Tensor flat, torch::Tensor scratch, int tag,
                                                               LeaderAlgorithm between, Watchdog* dog, std::string phase,
                                                               double timeout_s)
    : nodes_(nodes), owners_(owners), flat_(std::move(flat)), scratch_(std::move(scratch)), tag_(tag),
      between_(between), dog_(dog),
      phase_(std::move(phase)), timeout_s_(timeout_s) {
  SPROUT_CHECK(flat_.defined() && flat_.is_contiguous() && flat_.device().is_cpu() && flat_.dim() == 1 &&
                   flat_.is_floating_point(),
               CommError, "scattered hierarchical allreduce: bucket must be a 1-D contiguous floating CPU tensor");
  SPROUT_CHECK(owners_.chunks() == nodes_.max_node_size(), CommError,
               "scattered hierarchical allreduce: chunk owners built for other node groups");
  type_ = mpi_datatype(flat_);
  const int s = nodes_.node_size(), j = nodes_.node_rank();
  int64_t offset = 0;
  for (int k = 0; k < owners_.chunks(); ++k) {
    if (owners_.owner(k) != j) continue;
    owned_.push_back(k);
    for (int r = 0; r < s; ++r) {
      slot_.push_back(r == j ? -1 : offset);
      if (r != j) offset += chunk(k).numel();
    }
  }
  const int64_t need = scattered_scratch_numel(flat_.numel(), nodes_.node_count(), owners_.chunks(), s, j);
  if (!scratch_.defined() || scratch_.numel() < need || scratch_.scalar_type() != flat_.scalar_type()) {
    scratch_ = torch::empty({std::max<int64_t>(need, 1)}, flat_.options());
  }
  post_scatter();
}

ScatteredHierarchicalAllreduce::~ScatteredHierarchicalAllreduce() {
  if (stage_ != Stage::Done) abandon_unfinished(requests_.data(), requests_.size(), flat_, scratch_);
}

torch::Tensor ScatteredHierarchicalAllreduce::chunk(int k) const {
  const int64_t n = flat_.numel();
  const int chunks = owners_.chunks();
  const int64_t begin = ring_chunk_begin(n, chunks, k);
  return flat_.narrow(0, begin, ring_chunk_begin(n, chunks, k + 1) - begin);
}

void ScatteredHierarchicalAllreduce::post_scatter() {
  const int s = nodes_.node_size(), j = nodes_.node_rank();
  requests_.clear();
  // Receives of this rank's chunks, per owned chunk in increasing order, and sends of the
  // others' in increasing chunk order: messages between two ranks match in that order.
  for (size_t i = 0; i < owned_.size(); ++i) {
    const auto c = chunk(owned_[i]);
    for (int r = 0; r < s; ++r) {
      if (r == j) continue;
      requests_.push_back(MPI_REQUEST_NULL);
      SPROUT_MPI_CHECK(MPI_Irecv(static_cast<char*>(scratch_.data_ptr()) + slot_[i * s + r] * flat_.element_size(),
                                 static_cast<int>(c.numel()), type_, r, tag_, nodes_.node(), &requests_.back()));
    }
  }
  for (int k = 0; k < owners_.chunks(); ++k) {
    if (owners_.owner(k) == j) continue;
    const auto c = chunk(k);
    requests_.push_back(MPI_REQUEST_NULL);
    SPROUT_MPI_CHECK(MPI_Isend(c.data_ptr(), static_cast<int>(c.numel()), type_, owners_.owner(k), tag_, nodes_.node(),
                               &requests_.back()));
  }
}

void ScatteredHierarchicalAllreduce::sum_owned_chunks() {
  const int s = nodes_.node_size(), j = nodes_.node_rank();
  for (size_t i = 0; i < owned_.size(); ++i) {
    auto mine = chunk(owned_[i]);
    if (mine.numel() == 0) continue;
    auto piece = [&](int r) { return r == j ? mine : scratch_.narrow(0, slot_[i * s + r], mine.numel()); };
    auto sum = piece(0);  // ((x0 + x1) + x2) + …, in node-rank order
    for (int r = 1; r < s; ++r) sum.add_(piece(r));
    if (j != 0) mine.copy_(sum);
  }
}

bool ScatteredHierarchicalAllreduce::advance_between(bool block) {
  if (nodes_.node_count() <= 1) return true;
  while (between_next_ < owned_.size()) {
    const int k = owned_[between_next_];
    auto c = chunk(k);
    if (c.numel() == 0) {  // the same on every owner of k: all skip it
      ++between_next_;
      continue;
    }
    if (!between_work_) {
      // The pieces received inside the node are summed by now: their scratch is free.
      if (between_ == LeaderAlgorithm::Ring) {
        between_work_ = std::make_unique<RingAllreduce>(owners_.comm(k), c, scratch_, tag_, dog_, phase_, timeout_s_);
      } else {
        between_work_ = std::make_unique<RecursiveDoublingAllreduce>(owners_.comm(k), c, scratch_, tag_, dog_, phase_,
                                                                      timeout_s_);
      }
    }
    if (block) {
      between_work_->wait();
    } else if (!between_work_->test()) {
      return false;
    }
    between_work_.reset();
    ++between_next_;
  }
  return true;
}

void ScatteredHierarchicalAllreduce::post_gather() {
  const int s = nodes_.node_size(), j = nodes_.node_rank();
  requests_.clear();
  for (int k = 0; k < owners_.chunks(); ++k) {
    auto c = chunk(k);
    const int count = static_cast<int>(c.numel());
    if (owners_.owner(k) == j) {
      for (int r = 0; r < s; ++r) {
        if (r == j) continue;
        requests_.push_back(MPI_REQUEST_NULL);
        SPROUT_MPI_CHECK(MPI_Isend(c.data_ptr(), count, type_, r, tag_, nodes_.node(), &requests_.back()));
      }
    } else {
      requests_.push_back(MPI_REQUEST_NULL);
      SPROUT_MPI_CHECK(MPI_Irecv(c.data_ptr(), count, type_, owners_.owner(k), tag_, nodes_.node(), &requests_.back()));
    }
  }
}

bool ScatteredHierarchicalAllreduce::requests_done(bool block) {
  if (requests_.empty()) return true;
  const int n = static_cast<int>(requests_.size());
  if (block) {
    SPROUT_MPI_CHECK(MPI_Waitall(n, requests_.data(), MPI_STATUSES_IGNORE));
  } else {
    int flag = 0;
    SPROUT_MPI_CHECK(MPI_Testall(n, requests_.data(), &flag, MPI_STATUSES_IGNORE));
    if (!flag) return false;
  }
  requests_.clear();
  return true;
}

bool ScatteredHierarchicalAllreduce::test() {
  for (;;) {
    switch (stage_) {
      case Stage::Scatter:
        if (!requests_done(false)) return false;
        sum_owned_chunks();
        stage_ = Stage::Between;
        continue;
      case Stage::Between:
        if (!advance_between(false)) return false;
        post_gather();
        stage_ = Stage::Gather;
        continue;
      case Stage::Gather:
        if (!requests_done(false)) return false;
        stage_ = Stage::Done;
        continue;
      case Stage::Done:
        return true;
    }
  }
}

void ScatteredHierarchicalAllreduce::wait() {
  if (stage_ == Stage::Done) return;
  Watchdog::Guard guard(dog_, "allreduce (scattered hierarchical)", phase_, timeout_s_);
  if (stage_ == Stage::Scatter) {
    requests_done(true);
    sum_owned_chunks();
    stage_ = Stage::Between;
  }
  if (stage_ == Stage::Between) {
    advance_between(true);
    post_gather();
    stage_ = Stage::Gather;
  }
  requests_done(true);
  stage_ = Stage::Done;
}

int64_t scattered_scratch_numel(int64_t numel, int node_count, int max_node_size, int node_size, int node_rank) {
  int64_t owned = 0, largest = 0;
  for (int k = node_rank; k < max_node_size; k += node_size) {  // ChunkOwners::owner(k) == node_rank
    const int64_t n = ring_chunk_begin(numel, max_node_size, k + 1) - ring_chunk_begin(numel, max_node_size, k);
    owned += n;
    largest = std::max(largest, n);
  }
  return std::max<int64_t>((node_size - 1) * owned, node_count > 1 ? largest : 0);
}

}  // namespace sprout::runtime
