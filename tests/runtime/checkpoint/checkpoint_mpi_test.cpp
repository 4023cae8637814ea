// Checkpoint files (runtime/checkpoint/writer.h, reader.h) under
// mpiexec -n 2, -n 3 and -n 4, with Open MPI's ompio and romio I/O components.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdio>
#include <fstream>

#include "checkpoint_test_util.h"
#include "mpi_test_env.h"
#include "runtime/checkpoint/reader.h"
#include "runtime/checkpoint/writer.h"
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

TEST(Checkpoint, RoundTripIsBitExactForEveryTensorKind) {
  auto& w = world();
  SharedDir dir(w);
  const auto content = testing::sample_content();
  const auto ws = write_checkpoint_file(w, dir.file("a.h5"), content);
  EXPECT_EQ(ws.tensors, static_cast<int64_t>(content.tensors.size()));
  int64_t bytes = 0;
  for (const auto& [path, t] : content.tensors) bytes += t.value.numel() * t.value.element_size();
  EXPECT_EQ(ws.bytes, bytes);
  EXPECT_GT(ws.write_seconds, 0);

  ReadStats rs;
  const auto back = read_checkpoint_file(w, dir.file("a.h5"), {}, &rs);
  testing::expect_same_content(content, back, "round trip");
  EXPECT_EQ(rs.independent, 0) << "no_collective_cause " << rs.no_collective_cause;
  EXPECT_EQ(attr_string(back.root, "format", "root"), kCheckpointFormat);
  EXPECT_EQ(attr_int(back.root, "format_version", "root"), kCheckpointFormatVersion);
  EXPECT_EQ(attr_int(back.root, "world_size", "root"), w.size());
}

// Written by 1 rank, by 2 ranks and by all: the stored checksums are the same, and every
// reader world size from 1 to the world's returns the same bits.
TEST(Checkpoint, AnyWriterCountAnyReaderCount) {
  auto& w = world();
  SharedDir dir(w);
  const auto content = testing::sample_content(5);
  std::vector<int> writers{1, 2, w.size()};
  for (int n : writers) {
    if (auto sub = first_ranks(n)) write_checkpoint_file(*sub, dir.file("w" + std::to_string(n) + ".h5"), content);
    w.barrier();
  }
  std::map<std::string, uint32_t> reference;
  for (int n : writers) {
    for (int readers = 1; readers <= w.size(); ++readers) {
      if (auto sub = first_ranks(readers)) {
        const auto label = concat("written by ", n, ", read by ", readers);
        const auto back = read_checkpoint_file(*sub, dir.file("w" + std::to_string(n) + ".h5"));
        testing::expect_same_content(content, back, label);
        EXPECT_EQ(attr_int(back.root, "world_size", label), n);
        for (const auto& [path, t] : back.tensors) {
          auto [it, fresh] = reference.emplace(path, t.crc32);
          if (!fresh) {
            EXPECT_EQ(it->second, t.crc32) << label << " " << path;
          }
        }
      }
      w.barrier();
    }
  }
}

// ---- rejected files ------------------------------------------------------------------

// Every rank throws CheckpointError and its message contains every piece of `wanted`.
void expect_rejected(const std::string& path, const std::vector<std::string>& wanted) {
  auto& w = world();
  std::string message;
  try {
    read_checkpoint_file(w, path);
  } catch (const CheckpointError& e) {
    message = e.what();
  }
  ASSERT_FALSE(message.empty()) << path << " was accepted";
  for (const auto& s : wanted) EXPECT_NE(message.find(s), std::string::npos) << "'" << s << "' not in: " << message;
  // The readers closed the file collectively and can go on: a good file still reads.
  w.barrier();
}

// Byte offset of a dataset's data (serial HDF5, rank 0).
haddr_t data_offset(const std::string& path, const std::string& dataset) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  const haddr_t off = H5Dget_offset(d);
  H5Dclose(d);
  H5Fclose(f);
  return off;
}

void copy_file(const std::string& from, const std::string& to, long truncate_to = -1) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (truncate_to >= 0) bytes.resize(static_cast<size_t>(truncate_to));
  std::ofstream(to, std::ios::binary) << bytes;
}

TEST(Checkpoint, CorruptTruncatedForeignAndFutureFilesAreRejected) {
  auto& w = world();
  SharedDir dir(w);
  const auto good = dir.file("good.h5");
  write_checkpoint_file(w, good, testing::sample_content());
  if (w.rank() == 0) {
    // One flipped byte in the data of /model/fc1/weight.
    copy_file(good, dir.file("flipped.h5"));
    const haddr_t off = data_offset(good, "/model/fc1/weight") + 17;
    std::fstream f(dir.file("flipped.h5"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(off));
    char byte = 0;
    f.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x10);
    f.seekp(static_cast<std::streamoff>(off));
    f.write(&byte, 1);
    f.close();
    // Cut in half, as by a full disk or an interrupted copy.
    std::ifstream in(good, std::ios::binary | std::ios::ate);
    copy_file(good, dir.file("truncated.h5"), static_cast<long>(in.tellg()) / 2);
    // A future format version.
    copy_file(good, dir.file("future.h5"));
    hid_t fh = H5Fopen(dir.file("future.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(fh, "format_version", H5P_DEFAULT);
    const int64_t v = 99;
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    H5Fclose(fh);
    // An HDF5 file that is not a checkpoint.
    hid_t ff = H5Fcreate(dir.file("foreign.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 4;
    hid_t s = H5Screate_simple(1, &n, nullptr);
    hid_t d = H5Dcreate2(ff, "data", H5T_NATIVE_FLOAT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(ff);
    // Not HDF5 at all.
    std::ofstream(dir.file("text.h5")) << "hello, I am not a checkpoint\n";
  }
  w.barrier();
  expect_rejected(dir.file("flipped.h5"), {dir.file("flipped.h5"), "/model/fc1/weight", "checksum mismatch"});
  expect_rejected(dir.file("truncated.h5"), {dir.file("truncated.h5"), "not a readable HDF5 file", "truncated"});
  expect_rejected(dir.file("future.h5"), {dir.file("future.h5"), "format_version 99", "newer sprout"});
  expect_rejected(dir.file("foreign.h5"), {dir.file("foreign.h5"), "not a sprout checkpoint"});
  expect_rejected(dir.file("text.h5"), {dir.file("text.h5"), "not a readable HDF5 file"});
  expect_rejected(dir.file("missing.h5"), {dir.file("missing.h5"), "does not exist"});
  EXPECT_NO_THROW(read_checkpoint_file(w, good));

  // inspect mode: every tensor is read, the bad one is marked, the rest verify.
  ReadOptions all;
  all.stop_at_first_error = false;
  const auto marked = read_checkpoint_file(w, dir.file("flipped.h5"), all);
  for (const auto& [path, t] : marked.tensors) {
    if (path == "/model/fc1/weight") EXPECT_NE(t.error.find("checksum mismatch"), std::string::npos);
    else EXPECT_EQ(t.error, "") << path;
  }
}

// h5py (Debian's python3) reads every tensor of a checkpoint written by all ranks and
// finds exactly sprout's values and checksums.
TEST(Checkpoint, H5pyReadsEveryTensor) {
  auto& w = world();
  SharedDir dir(w);
  const auto content = testing::sample_content(9);
  write_checkpoint_file(w, dir.file("py.h5"), content);
  int status = 0;
  if (w.rank() == 0) {
    // Expected values as raw bytes, one file per tensor, listed in a manifest.
    std::ofstream manifest(dir.file("manifest.txt"));
    int i = 0;
    for (const auto& [path, t] : content.tensors) {
      const auto v = t.value.contiguous();
      const std::string raw = dir.file("t" + std::to_string(i++) + ".bin");
      std::ofstream(raw, std::ios::binary)
          .write(static_cast<const char*>(v.data_ptr()), static_cast<std::streamsize>(v.numel() * v.element_size()));
      manifest << path << " " << raw << "\n";
    }
    manifest.close();
    // SPROUT_SOURCE_DIR is set by CTest (tests/CMakeLists.txt); __FILE__ may be relative
    // under ccache's base_dir.
    // (No ASSERT on one rank: the others would wait in the allreduce below.)
    const char* source_dir = std::getenv("SPROUT_SOURCE_DIR");
    const std::string script = std::string(source_dir ? source_dir : "SPROUT_SOURCE_DIR-unset") +
                               "/tests/runtime/checkpoint/h5py_check.py";
    const std::string cmd = "/usr/bin/python3 " + script + " " + dir.file("py.h5") + " " + dir.file("manifest.txt");
    status = std::system(cmd.c_str());
  }
  EXPECT_EQ(allreduce_int(w, status, ReduceOp::Max), 0) << "h5py check failed (see its output)";
}

}  // namespace
}  // namespace sprout::runtime
