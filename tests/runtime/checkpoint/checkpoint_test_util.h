// Helpers of the checkpoint tests: a directory every rank shares, sample contents with
// every kind of tensor, and comparisons.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/comm/communicator.h"
#include "test_util.h"

namespace sprout::testing {

// A temporary directory created by rank 0 of `comm` and known to every rank; removed by
// rank 0 after a barrier when the object dies. Collective (constructor and destructor).
class SharedDir {
 public:
  explicit SharedDir(runtime::Communicator& comm) : comm_(comm) {
    std::string path;
    if (comm.rank() == 0) {
      dir_ = std::make_unique<TempDir>();
      path = dir_->path();
    }
    path_ = runtime::broadcast_string(comm, path, 0);
  }
  ~SharedDir() { comm_.barrier(); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  runtime::Communicator& comm_;
  std::unique_ptr<TempDir> dir_;
  std::string path_;
};

// A content with every supported dtype and awkward shapes (0-d, empty, fewer rows than
// ranks), attributes of every type on the root, groups and tensors, and two tables.
// Deterministic in `seed`, so every rank builds the same one.
inline runtime::CheckpointContent sample_content(int64_t seed = 1) {
  using runtime::CheckpointTable;
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  runtime::CheckpointContent c;
  c.root["step"] = int64_t{1234};
  c.root["config"] = std::string("model.widths = 8,4\ntrain.steps = 10\n");
  c.root["lr"] = 0.125;
  c.groups["/data"] = {{"seed", int64_t{7}}, {"epoch", int64_t{2}}, {"offset", int64_t{96}}};
  c.groups["/architecture"] = {{"spec", std::string("kind=mlp;widths=8,4")}, {"sizes", std::vector<int64_t>{8, 4}}};
  c.groups["/optimizer/fc1/weight"] = {{"step", int64_t{17}}};
  auto add = [&](const std::string& path, torch::Tensor t, runtime::Attributes attrs = {}) {
    runtime::CheckpointTensor e;
    e.value = t;
    e.attrs = std::move(attrs);
    c.tensors[path] = e;
  };
  add("/model/fc1/weight", at::randn({13, 7}, gen), {{"note", std::string("rows split unevenly")}});
  add("/model/fc1/bias", at::randn({13}, gen).to(torch::kFloat64));
  add("/model/conv1/weight", at::randn({5, 3, 3, 3}, gen));
  add("/model/tiny/bias", at::randn({1, 7}, gen));  // fewer rows than ranks
  add("/buffers/bn_fc1/num_batches_tracked", torch::tensor(int64_t{42}));  // 0-d
  add("/buffers/bn_fc1/running_var", at::rand({13}, gen));
  add("/optimizer/fc1/weight/momentum_buffer", at::randn({13, 7}, gen));
  add("/extra/int32", torch::arange(24, torch::kInt32).reshape({2, 3, 4}));
  add("/extra/int16", torch::arange(-5, 5, torch::kInt16));
  add("/extra/int8", torch::arange(-8, 8, torch::kInt8));
  add("/extra/uint8", torch::arange(0, 200, torch::kUInt8));
  add("/extra/empty", torch::zeros({0, 5}));
  add("/rng/torch_cpu", torch::randint(0, 255, {64}, gen, torch::kUInt8));
  CheckpointTable history;
  history.columns.push_back({"step", std::vector<int64_t>{100, 250}});
  history.columns.push_back({"site", std::vector<std::string>{"fc1", "fc2"}});
  history.columns.push_back({"seconds", std::vector<double>{0.25, 1.5}});
  c.tables["/growth/history"] = history;
  CheckpointTable empty;
  empty.columns.push_back({"step", std::vector<int64_t>{}});
  empty.columns.push_back({"site", std::vector<std::string>{}});
  c.tables["/growth/empty"] = empty;
  return c;
}

// Bitwise equality of tensors, and equality of attributes and tables (the writer's own
// attributes crc32 / shard_rows and the format attributes are not compared).
inline void expect_same_content(const runtime::CheckpointContent& want, const runtime::CheckpointContent& got,
                                const std::string& label) {
  for (const auto& [k, v] : want.root) {
    auto it = got.root.find(k);
    ASSERT_NE(it, got.root.end()) << label << ": root attribute " << k;
    EXPECT_EQ(it->second, v) << label << ": root attribute " << k;
  }
  for (const auto& [path, attrs] : want.groups) {
    const auto* g = got.find_group(path);
    ASSERT_NE(g, nullptr) << label << ": group " << path;
    EXPECT_EQ(*g, attrs) << label << ": group " << path;
  }
  EXPECT_EQ(got.tensors.size(), want.tensors.size()) << label;
  for (const auto& [path, t] : want.tensors) {
    const auto* g = got.find_tensor(path);
    ASSERT_NE(g, nullptr) << label << ": tensor " << path;
    EXPECT_TRUE(g->error.empty()) << label << ": " << g->error;
    EXPECT_EQ(g->value.scalar_type(), t.value.scalar_type()) << label << ": " << path;
    EXPECT_EQ(g->value.sizes(), t.value.sizes()) << label << ": " << path;
    EXPECT_TRUE(g->value.equal(t.value)) << label << ": values of " << path;
    EXPECT_EQ(g->attrs, t.attrs) << label << ": attributes of " << path;
    EXPECT_EQ(g->crc32, runtime::tensor_crc32(t.value.contiguous())) << label << ": crc32 of " << path;
  }
  EXPECT_EQ(got.tables.size(), want.tables.size()) << label;
  for (const auto& [path, table] : want.tables) {
    auto it = got.tables.find(path);
    ASSERT_NE(it, got.tables.end()) << label << ": table " << path;
    ASSERT_EQ(it->second.columns.size(), table.columns.size()) << label << ": " << path;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      EXPECT_EQ(it->second.columns[c].name, table.columns[c].name) << label << ": " << path;
      EXPECT_EQ(it->second.columns[c].values, table.columns[c].values) << label << ": " << path;
    }
  }
}

}  // namespace sprout::testing
