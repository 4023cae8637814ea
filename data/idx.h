// IDX files (the MNIST format): big-endian header, then raw values.
//   magic: 0x00 0x00 <type> <ndims>; then ndims big-endian uint32 sizes; then the data.
// Files may be gzip-compressed (detected by content, not by name).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sprout::data {

// A data file is missing or malformed. what(): "<file>: <problem>".
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;  // unsigned-byte IDX (type 0x08) only
  int64_t count() const { return dims.empty() ? 0 : dims[0]; }
};

// Reads and validates an IDX file: magic bytes, element type (unsigned byte), number of
// dimensions (1..4), every size > 0, and that the payload has exactly the announced length.
// Throws DataError naming the file and the problem.
IdxArray read_idx(const std::string& path);

// Parses IDX content already in memory; `name` is used in error messages.
IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& name);

// Reads a whole file, gunzipping it if it is gzip-compressed.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);
// Gunzips `raw` if it starts with the gzip magic; otherwise returns it unchanged.
std::vector<uint8_t> gunzip_if_needed(std::vector<uint8_t> raw, const std::string& name);

}  // namespace sprout::data
