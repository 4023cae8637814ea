// Checkpoint directory rules (runtime/checkpoint/store.h) and checkpoint helpers: names,
// order, listing, pruning, the `latest` pointer, the checksum.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/store.h"
#include "runtime/error.h"
#include "test_util.h"

namespace sprout::runtime {
namespace {

using sprout::testing::TempDir;

void touch(const std::string& path) { std::ofstream(path) << "x"; }

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
  // At one step: after the update < before growth < after growth; then the next step.
  const std::vector<CheckpointName> ordered{{9, "post-growth"}, {10, ""}, {10, "pre-growth"}, {10, "post-growth"},
                                            {11, ""}};
  for (size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_TRUE(checkpoint_older(ordered[i], ordered[i + 1])) << i;
    EXPECT_FALSE(checkpoint_older(ordered[i + 1], ordered[i])) << i;
  }
}

TEST(CheckpointStore, ListingIgnoresTemporaryAndForeignFiles) {
  TempDir dir;
  for (const char* f : {"step-00000002.h5", "step-00000010.h5", "step-00000010-post-growth.h5",
                        "step-00000010-pre-growth.h5", "step-00000012.h5.tmp", "latest", "notes.txt", "step-9.h5"}) {
    touch(dir.file(f));
  }
  EXPECT_EQ(list_checkpoints(dir.path()), (std::vector<std::string>{"step-00000010-post-growth.h5",
                                                                    "step-00000010-pre-growth.h5",
                                                                    "step-00000010.h5", "step-00000002.h5"}));
  EXPECT_TRUE(list_checkpoints(dir.file("no-such-dir")).empty());
}

TEST(CheckpointStore, PruneKeepsTheNewestKAndRemovesStaleTemporaries) {
  TempDir dir;
  for (int s = 1; s <= 6; ++s) touch(dir.file(checkpoint_file_name(s)));
  touch(dir.file("step-00000007.h5.tmp"));  // a killed writer's
  touch(dir.file("notes.txt"));
  auto removed = prune_checkpoints(dir.path(), 3, "");
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"step-00000001.h5", "step-00000002.h5", "step-00000003.h5",
                                               "step-00000007.h5.tmp"}));
  EXPECT_EQ(list_checkpoints(dir.path()),
            (std::vector<std::string>{"step-00000006.h5", "step-00000005.h5", "step-00000004.h5"}));
  EXPECT_TRUE(exists(dir.file("notes.txt")));
  // The protected file survives even when it is not among the newest (an older run's
  // checkpoints with higher steps share the directory).
  touch(dir.file(checkpoint_file_name(2)));
  removed = prune_checkpoints(dir.path(), 1, "step-00000002.h5");
  EXPECT_TRUE(exists(dir.file("step-00000002.h5")));
  EXPECT_TRUE(exists(dir.file("step-00000006.h5")));
  EXPECT_EQ(removed.size(), 2u);
  // keep 0: nothing removed.
  EXPECT_TRUE(prune_checkpoints(dir.path(), 0, "").empty());
}

TEST(CheckpointStore, LatestPointer) {
  TempDir dir;
  EXPECT_EQ(read_latest(dir.path()), "");
  std::ofstream(dir.file("latest")) << "step-00000042.h5\n";
  EXPECT_EQ(read_latest(dir.path()), "step-00000042.h5");
  std::ofstream(dir.file("latest")) << "../../etc/passwd\n";
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
