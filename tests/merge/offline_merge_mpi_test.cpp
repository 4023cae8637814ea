// `sprout merge`'s engine under mpiexec -n 2, 3, 4: expert checkpoint files streamed tensor
// by tensor and split across ranks give the in-memory merge bit for bit; the output is a
// checkpoint (Note [Merged checkpoints]); bad inputs fail on every rank alike, leaving no
// output file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "growth/models/model.h"
#include "merge/checkpoint_files.h"
#include "merge/merge.h"
#include "merge/offline_merge.h"
#include "mpi_test_env.h"
#include "runtime/checkpoint/reader.h"
#include "../runtime/checkpoint/checkpoint_test_util.h"
#include "runtime/error.h"

namespace sprout::merge {
namespace {

using runtime::CheckpointContent;

growth::ArchSpec arch(std::vector<int64_t> widths = {24, 12}) {
  growth::ArchSpec a;
  a.in_height = a.in_width = 5;
  a.set_ints("widths", std::move(widths));
  a.set_flag("batch_norm", true);  // parameters, statistics and counters
  return a;
}

// A training-like checkpoint of `bundle`: model, buffers, zero-free optimizer state,
// architecture, data position.
CheckpointContent content_of(const TensorBundle& bundle, const growth::ArchSpec& a, int64_t step) {
  CheckpointContent c;
  c.root = {{"step", step}, {"epoch", int64_t{3}}, {"tag", std::string("")}, {"config", std::string("x = 1\n")}};
  c.groups["/architecture"] = {{"spec", a.serialize()}};
  c.groups["/data"] = {{"seed", int64_t{0}}, {"epoch", int64_t{3}}, {"offset", int64_t{128}}};
  c.groups["/optimizer"] = {{"name", std::string("sgd")}};
  for (const auto& t : bundle) {
    const bool p = t.role == TensorRole::Parameter;
    const std::string path = runtime::name_to_path(t.name);
    c.tensors[(p ? "/model/" : "/buffers/") + path].value = t.value;
    if (p) {
      c.groups["/optimizer/" + path] = {{"step", step}};
      c.tensors["/optimizer/" + path + "/momentum_buffer"].value = torch::ones_like(t.value);
    }
  }
  return c;
}

TensorBundle perturbed(const TensorBundle& base, uint64_t seed) {
  TensorBundle out = base;
  torch::manual_seed(seed);
  for (auto& t : out) {
    if (t.role == TensorRole::Counter) t.value = torch::full_like(t.value, static_cast<int64_t>(seed * 3 % 11));
    else t.value = t.value + 0.1 * torch::randn_like(t.value);
  }
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

struct Files {
  std::string base;
  std::vector<std::string> experts;
  TensorBundle base_bundle;  // path order, as read back
  std::vector<TensorBundle> expert_bundles;
};

Files write_inputs(runtime::Communicator& comm, const testing::SharedDir& dir, int n) {
  Files f;
  const auto a = arch();
  const auto base = bundle_from(growth::build_model(a, 3)->params());
  f.base = dir.file("base.h5");
  write_checkpoint_atomically(comm, f.base, content_of(base, a, 100));
  f.base_bundle = bundle_from_checkpoint(runtime::read_checkpoint_file(comm, f.base), "base");
  for (int e = 0; e < n; ++e) {
    f.experts.push_back(dir.file("expert" + std::to_string(e) + ".h5"));
    write_checkpoint_atomically(comm, f.experts.back(), content_of(perturbed(base, 10 + e), a, 200 + e));
    f.expert_bundles.push_back(bundle_from_checkpoint(runtime::read_checkpoint_file(comm, f.experts.back()), "e"));
  }
  return f;
}

TEST(OfflineMerge, StreamedAndSplitAcrossRanksEqualsInMemoryBitForBit) {
  auto& comm = testing::world();
  testing::SharedDir dir(comm);
  const Files f = write_inputs(comm, dir, 3);
  for (const auto& name : merge_method_names()) {
    OfflineMergeOptions o;
    o.method = name;
    o.base = f.base;
    o.experts = f.experts;
    o.out = dir.file(name + ".h5");
    const auto r = merge_checkpoint_files(comm, o);
    EXPECT_EQ(r.tensors, static_cast<int64_t>(f.base_bundle.size()));
    EXPECT_EQ(runtime::allreduce_int(comm, r.tensors_here, runtime::ReduceOp::Sum), r.tensors);  // split, no overlap
    const auto out = runtime::read_checkpoint_file(comm, o.out);
    const auto got = bundle_from_checkpoint(out, o.out);
    const auto want = merge_bundles(*make_merge_method(name), f.base_bundle, f.expert_bundles, MergeOptions{});
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].name, want[i].name);
      EXPECT_TRUE(at::equal(got[i].value, want[i].value)) << name << " " << got[i].name;
    }
    // A checkpoint of the merged model: fresh optimizer, step 0, position 0, provenance.
    EXPECT_EQ(runtime::attr_int(out.root, "step", ""), 0);
    EXPECT_EQ(runtime::attr_string(out.root, "tag", ""), "merged");
    EXPECT_EQ(runtime::attr_int(*out.find_group("/data"), "offset", ""), 0);
    EXPECT_EQ(runtime::attr_int(*out.find_group("/optimizer/fc1/weight"), "step", ""), 0);
    EXPECT_EQ(out.find_tensor("/optimizer/fc1/weight/momentum_buffer")->value.abs().sum().item<double>(), 0.0);
    const auto* m = out.find_group("/merge");
    ASSERT_TRUE(m);
    EXPECT_EQ(runtime::attr_string(*m, "method", ""), name);
    EXPECT_EQ(runtime::attr_double(*m, "lambda", ""), r.lambda);
    EXPECT_EQ(runtime::attr_string(*m, "expert_2", ""), f.experts[2]);
    EXPECT_EQ(runtime::attr_string(*m, "base_checksum", ""), CheckpointStream(f.base).content_checksum());
    EXPECT_EQ(runtime::attr_string(*m, "expert_0_checksum", "").size(), 16u);
  }
}

std::string merge_error(runtime::Communicator& comm, OfflineMergeOptions o) {
  try {
    merge_checkpoint_files(comm, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OfflineMerge, BadInputFailsEverywhereAndWritesNothing) {
  auto& comm = testing::world();
  testing::SharedDir dir(comm);
  const Files f = write_inputs(comm, dir, 2);
  OfflineMergeOptions o;
  o.base = f.base;
  o.experts = f.experts;
  o.out = dir.file("out.h5");

  // Another architecture.
  const auto wide = arch({28, 12});
  write_checkpoint_atomically(comm, dir.file("wide.h5"),
                              content_of(bundle_from(growth::build_model(wide, 3)->params()), wide, 1));
  auto bad = o;
  bad.experts = {f.experts[0], dir.file("wide.h5")};
  auto msg = merge_error(comm, bad);
  EXPECT_NE(msg.find("expert '" + dir.file("wide.h5") + "' has architecture"), std::string::npos) << msg;

  // A missing tensor (same architecture text).
  auto content = content_of(f.base_bundle, arch(), 1);
  content.tensors.erase("/buffers/bn_fc2/running_var");
  write_checkpoint_atomically(comm, dir.file("holey.h5"), content);
  bad.experts = {dir.file("holey.h5")};
  msg = merge_error(comm, bad);
  EXPECT_NE(msg.find("tensor /buffers/bn_fc2/running_var is missing"), std::string::npos) << msg;

  // A damaged tensor: caught by its checksum while streaming.
  if (comm.rank() == 0) {
    std::ifstream in(f.experts[1], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto stream = CheckpointStream(f.experts[1]);
    // Flip a byte in the middle of the largest dataset's data (fc1.weight is 24x25 floats).
    const auto probe = stream.read(stream.tensors()[0]);
    const std::string needle(reinterpret_cast<const char*>(probe.data_ptr()), 64);
    const auto at = bytes.find(needle);
    ASSERT_NE(at, std::string::npos);
    bytes[at + 10] ^= 0x55;
    std::ofstream(dir.file("damaged.h5"), std::ios::binary) << bytes;
  }
  comm.barrier();
  bad.experts = {f.experts[0], dir.file("damaged.h5")};
  msg = merge_error(comm, bad);
  EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;

  bad.experts = {f.experts[0], dir.file("nothere.h5")};
  EXPECT_NE(merge_error(comm, bad).find("does not exist"), std::string::npos);
  bad = o;
  bad.method = "magmin";
  EXPECT_NE(merge_error(comm, bad).find("unknown merge method 'magmin'"), std::string::npos);
  bad = o;
  bad.merge.lambda = NAN;
  EXPECT_NE(merge_error(comm, bad).find("is not a finite number"), std::string::npos);
  // --out names an input however it is spelt: the input is refused, never overwritten.
  const std::string expert = f.experts[0];
  const auto slash = expert.find_last_of('/');
  const std::string expert_dir = expert.substr(0, slash), expert_name = expert.substr(slash + 1);
  if (comm.rank() == 0) {
    ASSERT_EQ(::symlink(expert.c_str(), dir.file("link.h5").c_str()), 0);
    ASSERT_EQ(::link(f.base.c_str(), dir.file("hard.h5").c_str()), 0);
  }
  comm.barrier();
  const auto expert_crc = CheckpointStream(expert).content_checksum();
  for (const std::string& spelling : {expert, expert_dir + "//" + expert_name, expert_dir + "/./" + expert_name,
                                      expert_dir + "/../" + expert_dir.substr(expert_dir.find_last_of('/') + 1) + "/" +
                                          expert_name,
                                      dir.file("link.h5"), dir.file("hard.h5")}) {
    bad = o;
    bad.out = spelling;
    const auto msg = merge_error(comm, bad);
    EXPECT_NE(msg.find("is the same file as"), std::string::npos) << spelling << ": " << msg;
  }
  EXPECT_EQ(CheckpointStream(expert).content_checksum(), expert_crc);
  EXPECT_FALSE(exists(o.out));
  EXPECT_FALSE(exists(o.out + ".tmp"));
  // And a good merge still works afterwards.
  o.method = "average";
  merge_checkpoint_files(comm, o);
  EXPECT_TRUE(exists(o.out));
}

}  // namespace
}  // namespace sprout::merge
