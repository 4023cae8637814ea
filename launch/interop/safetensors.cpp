#include "launch/interop/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "runtime/error.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {

namespace {

// A header larger than this is not a weights file (the reference reader's limit).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

const std::pair<const char*, torch::ScalarType> kDtypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"I64", torch::kInt64}, {"I32", torch::kInt32},
    {"I16", torch::kInt16},   {"I8", torch::kInt8},     {"U8", torch::kUInt8},
};

std::vector<int64_t> shape_of(const nlohmann::json& j, const std::string& where) {
  SPROUT_CHECK(j.is_array(), ConfigError, where, ": shape is not a list of integers");
  std::vector<int64_t> shape;
  for (const auto& d : j) {
    SPROUT_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), ConfigError, where,
                 ": shape ", j.dump(), " is not a list of integers >= 0");
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

}  // namespace

std::string safetensors_dtype(torch::ScalarType type) {
  for (const auto& [name, t] : kDtypes) {
    if (t == type) return name;
  }
  throw ConfigError(concat("safetensors: dtype ", type, " is not supported"));
}

torch::ScalarType dtype_of(const std::string& name, const std::string& where) {
  for (const auto& [n, t] : kDtypes) {
    if (name == n) return t;
  }
  throw ConfigError(concat(where, ": dtype ", name, " is not supported (F64, F32, I64, I32, I16, I8, U8)"));
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    SPROUT_CHECK(seen.insert(name).second && name != "__metadata__", ConfigError, "safetensors '", path,
                 "': tensor name ", name, " given twice or reserved");
    const auto c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", safetensors_dtype(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned, as the reference writes
  const uint64_t n = text.size();
  unsigned char size[8];
  for (int i = 0; i < 8; ++i) size[i] = static_cast<unsigned char>(n >> (8 * i));

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    SPROUT_CHECK(out, CheckpointError, "safetensors '", path, "': cannot open ", tmp, " for writing");
    out.write(reinterpret_cast<const char*>(size), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& c : data) {
      out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
    }
    out.flush();
    SPROUT_CHECK(out, CheckpointError, "safetensors '", path, "': writing ", tmp, " failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw CheckpointError(concat("safetensors '", path, "': cannot rename ", tmp, ": ", std::strerror(errno)));
  }
}

SafetensorsFile read_safetensors(const std::string& path) {
  const std::string where = concat("safetensors '", path, "'");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  SPROUT_CHECK(in, ConfigError, where, ": cannot open the file");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  SPROUT_CHECK(file_size >= 8, ConfigError, where, ": ", file_size, " bytes is too short for a safetensors file");
  unsigned char size[8];
  in.read(reinterpret_cast<char*>(size), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(size[i]) << (8 * i);
  SPROUT_CHECK(n <= kMaxHeaderBytes && n <= file_size - 8, ConfigError, where, ": header length ", n,
               " does not fit the ", file_size, "-byte file");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  SPROUT_CHECK(in, ConfigError, where, ": cannot read the header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(concat(where, ": the header is not JSON (", e.what(), ")"));
  }
  SPROUT_CHECK(header.is_object(), ConfigError, where, ": the header is not a JSON object");

  SafetensorsFile file;
  struct Entry {
    std::string name;
    torch::ScalarType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  const uint64_t data_size = file_size - 8 - n;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      SPROUT_CHECK(value.is_object(), ConfigError, where, ": __metadata__ is not an object of strings");
      for (const auto& [key, v] : value.items()) {
        SPROUT_CHECK(v.is_string(), ConfigError, where, ": __metadata__ ", key, " is not a string");
        file.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    const std::string at = where + " tensor " + name;
    SPROUT_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                     value.contains("data_offsets") && value["dtype"].is_string(),
                 ConfigError, at, ": needs dtype, shape and data_offsets");
    Entry e{name, dtype_of(value["dtype"].get<std::string>(), at), shape_of(value["shape"], at), 0, 0};
    const auto& off = value["data_offsets"];
    SPROUT_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                 ConfigError, at, ": data_offsets ", off.dump(), " is not [begin, end]");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    SPROUT_CHECK(e.begin <= e.end && e.end <= data_size, ConfigError, at, ": data_offsets [", e.begin, ", ", e.end,
                 "] lie outside the ", data_size, " data bytes");
    uint64_t bytes = c10::elementSize(e.dtype);
    for (auto d : e.shape) {
      SPROUT_CHECK(d == 0 || bytes <= UINT64_MAX / static_cast<uint64_t>(d), ConfigError, at, ": shape ",
                   runtime::shape_string(e.shape), " is too large");
      bytes *= static_cast<uint64_t>(d);
    }
    SPROUT_CHECK(e.end - e.begin == bytes, ConfigError, at, ": ", e.end - e.begin, " bytes for dtype ",
                 value["dtype"].get<std::string>(), " and shape ", runtime::shape_string(e.shape), " (", bytes,
                 " expected)");
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  for (const auto& e : entries) {
    SPROUT_CHECK(e.begin == covered, ConfigError, where, " tensor ", e.name, ": data_offsets start at ", e.begin,
                 ", where the previous tensor ends at ", covered, " (gap or overlap)");
    covered = e.end;
  }
  SPROUT_CHECK(covered == data_size, ConfigError, where, ": ", data_size - covered,
               " bytes after the last tensor's data");
  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype));
    in.seekg(static_cast<std::streamoff>(8 + n + e.begin));
    in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin));
    SPROUT_CHECK(in, ConfigError, where, " tensor ", e.name, ": cannot read its data");
    file.tensors.emplace_back(e.name, t);
  }
  return file;
}

}  // namespace sprout::launch
