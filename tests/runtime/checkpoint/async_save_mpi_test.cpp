// Asynchronous checkpoints (runtime/checkpoint/async_save.h) under mpiexec -n 2 and -n 3:
// the same tensors as a synchronous save, the snapshot as the boundary, reusable host
// buffers, a failed background write agreed by every rank, resharding, the thread level.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "checkpoint_test_util.h"
#include "mpi_test_env.h"
#include "runtime/checkpoint/async_save.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/error.h"

namespace sprout::runtime {
namespace {

using sprout::testing::SharedDir;
using sprout::testing::world;

// The communicator of ranks [0, n) of the world (nullptr on the others). Collective.
std::unique_ptr<Communicator> first_ranks(int n) {
  auto& w = world();
  auto sub = w.split(w.rank() < n ? 0 : 1, w.rank());
  if (w.rank() >= n) return nullptr;
  return sub;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Saves `content` asynchronously as `name` in `dir` and commits it (drain). Collective.
SaveReport save_async(Communicator& comm, const std::string& dir, const std::string& name,
                      const CheckpointContent& content) {
  AsyncCheckpointWriter writer;
  EXPECT_FALSE(writer.save(comm, dir, name, content, {0, {}}));
  EXPECT_TRUE(writer.in_flight());
  auto report = writer.drain(comm);
  EXPECT_TRUE(report.has_value());
  EXPECT_FALSE(writer.in_flight());
  return *report;
}

TEST(AsyncCheckpoint, AsyncAndSyncSavesStoreTheSameTensors) {
  auto& w = world();
  SharedDir dir(w);
  const auto content = testing::sample_content(3);
  commit_checkpoint(w, dir.file("sync"), checkpoint_file_name(1), content, {0, {}});
  const auto report = save_async(w, dir.file("async"), checkpoint_file_name(1), content);
  EXPECT_TRUE(report.async);
  EXPECT_GT(report.commit.write.bytes, 0);
  EXPECT_GE(report.stall_seconds, 0);
  EXPECT_GT(report.write_seconds, 0);
  const auto sync = read_checkpoint_file(w, dir.file("sync/step-00000001.h5"));
  const auto async = read_checkpoint_file(w, dir.file("async/step-00000001.h5"));
  testing::expect_same_content(content, async, "async");
  for (const auto& [path, t] : sync.tensors) {
    const auto* a = async.find_tensor(path);
    ASSERT_NE(a, nullptr) << path;
    EXPECT_TRUE(a->value.equal(t.value)) << path;
    EXPECT_EQ(a->crc32, t.crc32) << path;
  }
  EXPECT_EQ(read_latest(dir.file("async")), checkpoint_file_name(1));
}

// Tensors changed (in place, resized, removed) right after save() returns — as growth,
// width changes and merges do — never reach the file being written.
TEST(AsyncCheckpoint, TheSnapshotIsTheBoundary) {
  auto& w = world();
  SharedDir dir(w);
  auto live = testing::sample_content(4);
  const auto saved = testing::sample_content(4);
  AsyncCheckpointWriter writer;
  writer.save(w, dir.path(), checkpoint_file_name(5), live, {0, {}});
  for (auto& [path, t] : live.tensors) {
    if (t.value.numel() > 0) t.value.fill_(0);
  }
  live.tensors["/model/fc1/weight"].value.set_(torch::zeros({40, 7}));
  live.tensors.erase("/model/fc1/bias");
  writer.drain(w);
  testing::expect_same_content(saved, read_checkpoint_file(w, dir.file(checkpoint_file_name(5))), "snapshot");
}

TEST(AsyncCheckpoint, HostBuffersAreReusedUntilAShapeChanges) {
  auto& w = world();
  auto content = testing::sample_content(5);
  HostSnapshot snapshot;
  auto first = snapshot.capture(content, w.rank(), w.size());
  const int64_t allocated = snapshot.allocations();
  EXPECT_EQ(allocated, static_cast<int64_t>(content.tensors.size()));
  const void* where = first.front().rows.data_ptr();
  auto again = snapshot.capture(content, w.rank(), w.size());
  EXPECT_EQ(snapshot.allocations(), allocated);
  EXPECT_EQ(again.front().rows.data_ptr(), where);
  content.tensors["/model/fc1/weight"].value = torch::ones({26, 7});  // grown
  snapshot.capture(content, w.rank(), w.size());
  EXPECT_EQ(snapshot.allocations(), allocated + 1);
  // The copy holds this rank's rows only.
  int64_t mine = 0;
  for (const auto& p : snapshot.capture(content, w.rank(), w.size())) mine += p.bytes();
  EXPECT_EQ(snapshot.bytes(), mine);
}

// A writer thread that fails on one rank: every rank throws the same error naming the
// rank and the cause, the temporary file is gone, the previous checkpoint stays `latest`.
TEST(AsyncCheckpoint, AFailedBackgroundWriteIsAgreedAndLeavesLatest) {
  auto& w = world();
  SharedDir dir(w);
  const auto content = testing::sample_content(6);
  save_async(w, dir.path(), checkpoint_file_name(6), content);
  const int victim = w.size() - 1;
  ::setenv("SPROUT_TEST_FAULT", concat("throw:checkpoint-write:7:", victim).c_str(), 1);
  std::string message;
  AsyncCheckpointWriter writer;
  writer.save(w, dir.path(), checkpoint_file_name(7), content, {0, {}});
  try {
    writer.drain(w);
  } catch (const CheckpointError& e) {
    message = e.what();
  }
  ::unsetenv("SPROUT_TEST_FAULT");
  EXPECT_NE(message.find("injected test fault at checkpoint-write 7"), std::string::npos) << message;
  EXPECT_NE(message.find(concat("(rank ", victim, ")")), std::string::npos) << message;
  w.barrier();
  EXPECT_FALSE(exists(dir.file(checkpoint_file_name(7) + ".tmp")));
  EXPECT_FALSE(exists(dir.file(checkpoint_file_name(7))));
  EXPECT_EQ(read_latest(dir.path()), checkpoint_file_name(6));
}

// A second save while one is in flight waits for it and commits it first.
TEST(AsyncCheckpoint, AtMostOneWriteInFlight) {
  auto& w = world();
  SharedDir dir(w);
  const auto content = testing::sample_content(7);
  AsyncCheckpointWriter writer;
  EXPECT_FALSE(writer.save(w, dir.path(), checkpoint_file_name(1), content, {0, {}}));
  const auto previous = writer.save(w, dir.path(), checkpoint_file_name(2), content, {0, {}});
  ASSERT_TRUE(previous.has_value());
  EXPECT_NE(previous->commit.path.find(checkpoint_file_name(1)), std::string::npos);
  EXPECT_GE(previous->wait_seconds, 0);
  EXPECT_TRUE(writer.in_flight());
  // poll() commits once every rank is done; it never blocks, so retry.
  std::optional<SaveReport> done;
  for (int i = 0; i < 10000 && !done; ++i) {
    done = writer.poll(w);
    if (!done) ::usleep(1000);
  }
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(read_latest(dir.path()), checkpoint_file_name(2));
  EXPECT_FALSE(writer.poll(w).has_value());
}

// Written asynchronously by 2 ranks and read by 3; by 3 and read by 1.
TEST(AsyncCheckpoint, ReshardedRestore) {
  auto& w = world();
  if (w.size() < 3) GTEST_SKIP() << "needs 3 ranks";
  SharedDir dir(w);
  const auto content = testing::sample_content(8);
  if (auto two = first_ranks(2)) save_async(*two, dir.file("by2"), checkpoint_file_name(2), content);
  save_async(w, dir.file("by3"), checkpoint_file_name(3), content);
  testing::expect_same_content(content, read_checkpoint_file(w, dir.file("by2/step-00000002.h5")), "2 -> 3");
  if (auto one = first_ranks(1)) {
    const auto back = read_checkpoint_file(*one, dir.file("by3/step-00000003.h5"));
    testing::expect_same_content(content, back, "3 -> 1");
    EXPECT_EQ(attr_int(back.root, "world_size", "3 -> 1"), 3);
  }
  w.barrier();
}

// The writer thread makes no MPI call; the thread that calls MPI is the one that
// initialised it, so MPI_THREAD_FUNNELED is enough — and granted here.
TEST(AsyncCheckpoint, MpiGrantsTheThreadLevelAsyncSavesNeed) {
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  EXPECT_GE(level, MPI_THREAD_FUNNELED);
  EXPECT_NO_THROW(require_async_thread_level());
}

}  // namespace
}  // namespace sprout::runtime
