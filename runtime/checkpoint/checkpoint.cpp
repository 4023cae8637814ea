#include "runtime/checkpoint/checkpoint.h"

#include <zlib.h>

#include <algorithm>
#include <sstream>

#include "runtime/error.h"

namespace sprout::runtime {

int64_t CheckpointTable::rows() const {
  if (columns.empty()) return 0;
  return std::visit([](const auto& v) { return static_cast<int64_t>(v.size()); }, columns.front().values);
}

const CheckpointTensor* CheckpointContent::find_tensor(const std::string& path) const {
  auto it = tensors.find(path);
  return it == tensors.end() ? nullptr : &it->second;
}

const Attributes* CheckpointContent::find_group(const std::string& path) const {
  auto it = groups.find(path);
  return it == groups.end() ? nullptr : &it->second;
}

std::string name_to_path(const std::string& name) {
  std::string out = name;
  std::replace(out.begin(), out.end(), '.', '/');
  return out;
}

std::string path_to_name(const std::string& path) {
  std::string out = path;
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

namespace {
template <typename T>
const T& typed(const Attributes& attrs, const std::string& key, const std::string& where, const char* type) {
  auto it = attrs.find(key);
  SPROUT_CHECK(it != attrs.end(), CheckpointError, where, ": missing attribute '", key, "'");
  const T* v = std::get_if<T>(&it->second);
  SPROUT_CHECK(v, CheckpointError, where, ": attribute '", key, "' is not ", type, " (it is '",
               attr_text(it->second), "')");
  return *v;
}
}  // namespace

int64_t attr_int(const Attributes& attrs, const std::string& key, const std::string& where) {
  return typed<int64_t>(attrs, key, where, "an integer");
}

double attr_double(const Attributes& attrs, const std::string& key, const std::string& where) {
  auto it = attrs.find(key);
  if (it != attrs.end()) {
    if (const auto* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  }
  return typed<double>(attrs, key, where, "a number");
}

std::string attr_string(const Attributes& attrs, const std::string& key, const std::string& where) {
  return typed<std::string>(attrs, key, where, "a string");
}

std::vector<int64_t> attr_ints(const Attributes& attrs, const std::string& key, const std::string& where) {
  auto it = attrs.find(key);
  if (it != attrs.end()) {
    if (const auto* i = std::get_if<int64_t>(&it->second)) return {*i};
  }
  return typed<std::vector<int64_t>>(attrs, key, where, "a list of integers");
}

std::string attr_text(const AttrValue& value) {
  std::ostringstream os;
  if (const auto* i = std::get_if<int64_t>(&value)) os << *i;
  else if (const auto* d = std::get_if<double>(&value)) os << *d;
  else if (const auto* s = std::get_if<std::string>(&value)) os << *s;
  else {
    const auto& v = std::get<std::vector<int64_t>>(value);
    os << "[";
    for (size_t k = 0; k < v.size(); ++k) os << (k ? ", " : "") << v[k];
    os << "]";
  }
  return os.str();
}

uint32_t tensor_crc32(const torch::Tensor& t) {
  SPROUT_CHECK(t.is_contiguous() && t.device().is_cpu(), Error, "tensor_crc32 needs a contiguous CPU tensor");
  const auto* bytes = static_cast<const Bytef*>(t.data_ptr());
  size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large tensors in pieces.
  while (n > 0) {
    const uInt piece = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, bytes, piece);
    bytes += piece;
    n -= piece;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace sprout::runtime
