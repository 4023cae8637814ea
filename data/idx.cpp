#include "data/idx.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <sstream>

namespace sprout::data {

namespace {

std::string fail(const std::string& name, const std::string& problem) { return name + ": " + problem; }

// Raw data files and inflated gzip streams alike: MNIST is 47 MB, CIFAR-10 180 MB.
constexpr uint64_t kMaxDataFileBytes = uint64_t{1} << 33;

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  // Opened without blocking (a FIFO would wait for a writer) and refused unless it is a
  // regular file of at most kMaxDataFileBytes: a device or a FIFO never ends.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw DataError(fail(path, std::string("cannot open file: ") + std::strerror(errno)));
  struct stat st;
  std::string problem;
  if (::fstat(fd, &st) != 0) problem = std::string("cannot stat file: ") + std::strerror(errno);
  else if (S_ISDIR(st.st_mode)) problem = "is a directory, not a data file";
  else if (!S_ISREG(st.st_mode)) problem = "is not a regular file (a FIFO, device or socket)";
  else if (static_cast<uint64_t>(st.st_size) > kMaxDataFileBytes) problem = "is larger than 8 GiB";
  std::vector<uint8_t> raw;
  if (problem.empty()) {
    raw.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < raw.size()) {
      const ssize_t n = ::read(fd, raw.data() + done, raw.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) problem = std::string("read error: ") + std::strerror(errno);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    raw.resize(done);  // a file that shrank is reported as truncated by parse_idx
  }
  ::close(fd);
  if (!problem.empty()) throw DataError(fail(path, problem));
  return gunzip_if_needed(std::move(raw), path);
}

std::vector<uint8_t> gunzip_if_needed(std::vector<uint8_t> raw, const std::string& name) {
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
  const std::string& path = name;

  // gzip: inflate with automatic header detection; a truncated stream never reaches Z_STREAM_END.
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw DataError(fail(path, "zlib initialisation failed"));
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      const std::string why = rc == Z_BUF_ERROR ? "truncated gzip stream"
                                                : std::string("corrupt gzip data (") + (zs.msg ? zs.msg : "zlib error") + ")";
      throw DataError(fail(path, why));
    }
    out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - zs.avail_out));
    if (out.size() > kMaxDataFileBytes) {
      inflateEnd(&zs);
      throw DataError(fail(path, "gzip stream inflates beyond 8 GiB"));
    }
    if (rc != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw DataError(fail(path, "truncated gzip stream"));
    }
  }
  inflateEnd(&zs);
  return out;
}

IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.size() < 4) throw DataError(fail(name, "file too short for an IDX header (" + std::to_string(bytes.size()) + " bytes)"));
  if (bytes[0] != 0 || bytes[1] != 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "bad IDX magic number 0x%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]);
    throw DataError(fail(name, buf));
  }
  if (bytes[2] != 0x08) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "unsupported IDX element type 0x%02x (expected 0x08, unsigned byte)", bytes[2]);
    throw DataError(fail(name, buf));
  }
  const int ndims = bytes[3];
  if (ndims < 1 || ndims > 4) throw DataError(fail(name, "IDX header announces " + std::to_string(ndims) + " dimensions (expected 1 to 4)"));
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header) throw DataError(fail(name, "file too short for its IDX header (" + std::to_string(bytes.size()) + " bytes)"));
  IdxArray out;
  uint64_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t n = be32(bytes.data() + 4 + 4 * d);
    if (n == 0) throw DataError(fail(name, "dimension " + std::to_string(d) + " has size 0"));
    total *= n;
    if (total > (uint64_t(1) << 40)) throw DataError(fail(name, "IDX dimensions are implausibly large"));
    out.dims.push_back(n);
  }
  const uint64_t payload = bytes.size() - header;
  if (payload != total) {
    std::ostringstream os;
    os << (payload < total ? "truncated" : "too long") << ": header announces " << total
       << " values, file holds " << payload;
    throw DataError(fail(name, os.str()));
  }
  out.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_maybe_gzip(path), path); }

}  // namespace sprout::data
