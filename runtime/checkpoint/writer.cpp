#include "runtime/checkpoint/writer.h"

#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <sstream>

#include "runtime/checkpoint/layout.h"
#include "runtime/error.h"
#include "runtime/checkpoint/parallel_io.h"

namespace sprout::runtime {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The lowest failing rank's message on every rank, "" when none failed. Collective.
std::string agree_failure(Communicator& comm, const std::string& mine) {
  const int64_t failing = allreduce_int(comm, mine.empty() ? comm.size() : comm.rank(), ReduceOp::Min);
  if (failing >= comm.size()) return "";
  const std::string message = broadcast_string(comm, mine, static_cast<int>(failing));
  return comm.size() == 1 ? message : concat(message, " (rank ", failing, ")");
}

[[noreturn]] void fail_everywhere(Communicator& comm, const std::string& path, const std::string& message) {
  if (comm.rank() == 0) ::unlink(path.c_str());  // never a checkpoint; give the space back
  throw CheckpointError(message);
}

}  // namespace

std::vector<ShardPiece> shard_views(const CheckpointContent& content, int rank, int world) {
  std::vector<ShardPiece> pieces;
  for (const auto& [name, entry] : content.tensors) {
    ShardPiece p;
    p.name = name;
    SPROUT_CHECK(entry.value.defined(), CheckpointError, "tensor ", name, ": undefined tensor");
    const auto value = entry.value.detach().to(torch::kCPU).contiguous();
    if (value.dim() == 0) {
      p.rows = rank == 0 ? value : torch::empty({0}, value.options());
    } else {
      const auto [first, count] = shard_rows(value.size(0), rank, world);
      p.rows = value.narrow(0, first, count);
    }
    pieces.push_back(std::move(p));
  }
  return pieces;
}

PreparedFile prepare_checkpoint_file(Communicator& comm, const std::string& path, const CheckpointContent& content,
                                     std::vector<ShardPiece> pieces, int64_t step) {
  const auto t0 = Clock::now();
  PreparedFile out;
  out.path = path;
  for (const auto& [name, entry] : content.tensors) {
    out.names.push_back(name);
    out.bytes += entry.value.numel() * entry.value.element_size();
  }
  SPROUT_CHECK(pieces.size() == out.names.size(), CheckpointError, "checkpoint '", path, "': ", pieces.size(),
               " pieces for ", out.names.size(), " tensors");
  // Rank 0 makes the structure; every rank learns the offsets, or the error.
  std::string reply;
  if (comm.rank() == 0) {
    try {
      std::ostringstream offsets;
      for (const auto& [name, at] : create_checkpoint_layout(path, content, comm.size())) offsets << at << ' ';
      reply = "ok " + offsets.str();
    } catch (const std::exception& e) {
      ::unlink(path.c_str());
      reply = std::string("error ") + e.what();
    }
  }
  reply = broadcast_string(comm, reply, 0);
  SPROUT_CHECK(reply.rfind("ok ", 0) == 0, CheckpointError, reply.substr(reply.find(' ') + 1));
  // Offsets come in path order, as the pieces; this rank's rows start `first` rows in.
  std::istringstream offsets(reply.substr(3));
  auto piece = pieces.begin();
  for (const auto& [name, entry] : content.tensors) {
    int64_t at = -1;
    offsets >> at;
    const auto& v = entry.value;
    const int64_t rows = v.dim() == 0 ? 1 : v.size(0);
    const int64_t row_bytes = rows == 0 ? 0 : v.numel() / rows * v.element_size();
    const int64_t first = shard_rows(rows, comm.rank(), comm.size()).first;
    (piece++)->offset = at < 0 ? -1 : at + first * row_bytes;
  }
  out.plan.path = path;
  out.plan.pieces = std::move(pieces);
  out.plan.step = step;
  out.plan.rank = comm.rank();
  out.layout_seconds = since(t0);
  return out;
}

WriteStats finish_checkpoint_file(Communicator& comm, const PreparedFile& file, const ShardResult& mine) {
  WriteStats stats;
  std::string failure = agree_failure(comm, mine.error);
  if (!failure.empty()) fail_everywhere(comm, file.path, failure);

  // crc32_combine(crc(A), crc(B), len(B)) = crc(A·B): the ranks' pieces, in rank order,
  // fold into the CRC of the whole tensor whatever the number of pieces.
  const auto n = static_cast<int64_t>(file.names.size());
  auto local = torch::empty({2 * n}, torch::kInt64);
  auto l = local.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    l[2 * i] = mine.crc32[static_cast<size_t>(i)];
    l[2 * i + 1] = file.plan.pieces[static_cast<size_t>(i)].bytes();
  }
  const auto all = comm.allgather(local).reshape({comm.size(), 2 * n});
  auto a = all.accessor<int64_t, 2>();
  std::map<std::string, uint32_t> crcs;
  for (int64_t i = 0; i < n; ++i) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int64_t r = 0; r < comm.size(); ++r) {
      crc = crc32_combine(crc, static_cast<uLong>(a[r][2 * i]), static_cast<z_off_t>(a[r][2 * i + 1]));
    }
    crcs[file.names[static_cast<size_t>(i)]] = static_cast<uint32_t>(crc);
  }
  std::string stored;
  if (comm.rank() == 0) {
    try {
      store_checksums(file.path, crcs);
    } catch (const std::exception& e) {
      stored = e.what();
    }
  }
  failure = agree_failure(comm, stored);
  if (!failure.empty()) fail_everywhere(comm, file.path, failure);
  stats.tensors = n;
  stats.bytes = file.bytes;
  stats.layout_seconds = file.layout_seconds;
  stats.write_seconds = allreduce_scalar(comm, mine.seconds, ReduceOp::Max);
  return stats;
}

WriteStats write_checkpoint_file(Communicator& comm, const std::string& path, const CheckpointContent& content) {
  const auto t0 = Clock::now();
  auto prepared = prepare_checkpoint_file(comm, path, content, shard_views(content, comm.rank(), comm.size()));
  const auto mine = write_shard(prepared.plan);
  auto stats = finish_checkpoint_file(comm, prepared, mine);
  stats.seconds = since(t0);
  return stats;
}

}  // namespace sprout::runtime
