// Checkpoint directory rules (runtime/checkpoint/store.h) and checkpoint helpers: names,
// order, listing, pruning, the `latest` pointer, the checksum.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/store.h"
#include "runtime/error.h"
#include "test_util.h"

namespace sprout::runtime {
namespace {

using sprout::testing::TempDir;

void touch(const std::string& path, const char* text = "ok") { std::ofstream(path) << text; }

// Stands in for checkpoint verification: a file verifies when it holds "ok".
std::string holds_ok(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text == "ok" ? "" : "damaged";
}

const TagOrder kTags{"pre-growth", "post-growth"};

PruneRules keep(int k) { return {k, kTags, holds_ok}; }

bool exists(const std::string& path) { return std::ifstream(path).good(); }

TEST(CheckpointStore, NamesAndTheirOrder) {
  EXPECT_EQ(checkpoint_file_name(100), "step-00000100.h5");
  EXPECT_EQ(checkpoint_file_name(7, "pre-growth"), "step-00000007-pre-growth.h5");
  EXPECT_EQ(checkpoint_file_name(123456789012), "step-123456789012.h5");
  EXPECT_THROW(checkpoint_file_name(-1), ConfigError);
  EXPECT_THROW(checkpoint_file_name(1, "Bad Tag"), ConfigError);

  auto p = parse_checkpoint_name("step-00000100-post-growth.h5");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->step, 100);
  EXPECT_EQ(p->tag, "post-growth");
  for (const char* bad : {"step-00000100.h5.tmp", "latest", "step-100.h5", "step-00000100-.h5", "x-00000100.h5",
                          "step-00000100_a.h5", "step-00000100.hdf5"}) {
    EXPECT_FALSE(parse_checkpoint_name(bad)) << bad;
  }
  // At one step: untagged, then the caller's tags in its order, then others alphabetically.
  const std::vector<CheckpointName> ordered{{9, "post-growth"}, {10, ""}, {10, "pre-growth"}, {10, "post-growth"},
                                            {10, "a"}, {10, "z"}, {11, ""}};
  for (size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_TRUE(checkpoint_older(ordered[i], ordered[i + 1], kTags)) << i;
    EXPECT_FALSE(checkpoint_older(ordered[i + 1], ordered[i], kTags)) << i;
  }
  // The order is the caller's: the runtime knows no tag.
  EXPECT_TRUE(checkpoint_older({10, "post-growth"}, {10, "pre-growth"}, {}));
  EXPECT_TRUE(checkpoint_older({10, "b"}, {10, "a"}, {"b", "a"}));
}

TEST(CheckpointStore, ListingIgnoresTemporaryAndForeignFiles) {
  TempDir dir;
  for (const char* f : {"step-00000002.h5", "step-00000010.h5", "step-00000010-post-growth.h5",
                        "step-00000010-pre-growth.h5", "step-00000012.h5.tmp", "latest", "notes.txt", "step-9.h5"}) {
    touch(dir.file(f));
  }
  EXPECT_EQ(list_checkpoints(dir.path(), kTags), (std::vector<std::string>{"step-00000010-post-growth.h5",
                                                                          "step-00000010-pre-growth.h5",
                                                                          "step-00000010.h5", "step-00000002.h5"}));
  EXPECT_TRUE(list_checkpoints(dir.file("no-such-dir"), kTags).empty());
}

TEST(CheckpointStore, PruneKeepsTheNewestKAndRemovesStaleTemporaries) {
  TempDir dir;
  for (int s = 1; s <= 6; ++s) touch(dir.file(checkpoint_file_name(s)));
  touch(dir.file("step-00000007.h5.tmp"));  // a killed writer's
  touch(dir.file("latest.tmp"));            // a writer of `latest` killed before its rename
  touch(dir.file("notes.txt"));
  auto removed = prune_checkpoints(dir.path(), keep(3), "");
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"latest.tmp", "step-00000001.h5", "step-00000002.h5",
                                               "step-00000003.h5", "step-00000007.h5.tmp"}));
  EXPECT_EQ(list_checkpoints(dir.path(), kTags),
            (std::vector<std::string>{"step-00000006.h5", "step-00000005.h5", "step-00000004.h5"}));
  EXPECT_TRUE(exists(dir.file("notes.txt")));
  // The protected file survives even when it is not among the newest (an older run's
  // checkpoints with higher steps share the directory).
  touch(dir.file(checkpoint_file_name(2)));
  removed = prune_checkpoints(dir.path(), keep(1), "step-00000002.h5");
  EXPECT_TRUE(exists(dir.file("step-00000002.h5")));
  EXPECT_TRUE(exists(dir.file("step-00000006.h5")));
  EXPECT_EQ(removed.size(), 2u);
  // keep 0: nothing removed.
  EXPECT_TRUE(prune_checkpoints(dir.path(), keep(0), "").empty());
}

// Entries that are not usable checkpoints — a directory, a FIFO, a symlink (to /dev/zero,
// or even to a good file), a damaged file — never take a keep slot and are never removed;
// the good checkpoints are kept.
TEST(CheckpointStore, PruneCountsOnlyCheckpointsThatVerify) {
  TempDir dir;
  for (int s = 1; s <= 4; ++s) touch(dir.file(checkpoint_file_name(s)));
  ASSERT_EQ(::mkdir(dir.file(checkpoint_file_name(99)).c_str(), 0700), 0);
  ASSERT_EQ(::mkfifo(dir.file(checkpoint_file_name(98)).c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", dir.file(checkpoint_file_name(97)).c_str()), 0);
  ASSERT_EQ(::symlink(dir.file(checkpoint_file_name(1)).c_str(), dir.file(checkpoint_file_name(96)).c_str()), 0);
  touch(dir.file(checkpoint_file_name(95)), "damaged");
  ASSERT_EQ(::mkfifo(dir.file("step-00000094.h5.tmp").c_str(), 0600), 0);
  auto removed = prune_checkpoints(dir.path(), keep(2), "");
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"step-00000001.h5", "step-00000002.h5"}));
  for (int s : {3, 4, 94, 95, 96, 97, 98, 99}) {
    struct stat st;
    const std::string name = s == 94 ? "step-00000094.h5.tmp" : checkpoint_file_name(s);
    EXPECT_EQ(::lstat(dir.file(name).c_str(), &st), 0) << name;
  }
}

// The verification used by default is the real one, remembered per file version.
TEST(CheckpointStore, DefaultCheckRejectsFilesThatAreNotCheckpoints) {
  TempDir dir;
  touch(dir.file("junk.h5"), "not hdf5");
  ASSERT_EQ(::mkfifo(dir.file("fifo.h5").c_str(), 0600), 0);
  EXPECT_NE(cached_checkpoint_problem(dir.file("junk.h5")).find("not a readable HDF5 file"), std::string::npos);
  EXPECT_NE(cached_checkpoint_problem(dir.file("fifo.h5")).find("not a regular file"), std::string::npos);
  EXPECT_NE(cached_checkpoint_problem(dir.file("missing.h5")), "");
}

TEST(CheckpointStore, LatestPointer) {
  TempDir dir;
  EXPECT_EQ(read_latest(dir.path()), "");
  std::ofstream(dir.file("latest")) << "step-00000042.h5\n";
  EXPECT_EQ(read_latest(dir.path()), "step-00000042.h5");
  std::ofstream(dir.file("latest")) << "../../etc/passwd\n";
  EXPECT_EQ(read_latest(dir.path()), "");
  // A FIFO or a device as `latest` is no pointer: read_latest neither blocks nor grows.
  ::unlink(dir.file("latest").c_str());
  ASSERT_EQ(::mkfifo(dir.file("latest").c_str(), 0600), 0);
  EXPECT_EQ(read_latest(dir.path()), "");
  ::unlink(dir.file("latest").c_str());
  ASSERT_EQ(::symlink("/dev/zero", dir.file("latest").c_str()), 0);
  EXPECT_EQ(read_latest(dir.path()), "");
}

TEST(CheckpointHelpers, NamesPathsAndChecksums) {
  EXPECT_EQ(name_to_path("fc1.weight"), "fc1/weight");
  EXPECT_EQ(path_to_name("bn_fc1/running_mean"), "bn_fc1.running_mean");
  // tensor_crc32 is zlib's CRC-32 of the bytes (what Python's zlib.crc32 computes).
  auto t = torch::arange(10, torch::kFloat32);
  const auto* bytes = static_cast<const Bytef*>(t.data_ptr());
  EXPECT_EQ(tensor_crc32(t), static_cast<uint32_t>(crc32(crc32(0, Z_NULL, 0), bytes, 40)));
  EXPECT_EQ(tensor_crc32(torch::tensor({1.0f, 2.0f, 3.0f})), 0xb20e96b1u);  // zlib.crc32(np.float32([1,2,3]))
  Attributes a{{"n", int64_t{3}}, {"s", std::string("x")}};
  EXPECT_EQ(attr_int(a, "n", "here"), 3);
  EXPECT_EQ(attr_double(a, "n", "here"), 3.0);
  try {
    attr_int(a, "s", "group /data");
    ADD_FAILURE();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("group /data: attribute 's' is not an integer"), std::string::npos);
  }
  EXPECT_THROW(attr_string(a, "missing", "x"), CheckpointError);
}

}  // namespace
}  // namespace sprout::runtime
