// libFuzzer target: the IDX reader (gzip detection + inflate, header and length checks).
// Any input must either parse or be rejected with DataError — never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto bytes = sprout::data::gunzip_if_needed(std::vector<uint8_t>(data, data + size), "fuzz");
    auto a = sprout::data::parse_idx(bytes, "fuzz");
    // What load_split does with a parsed file: the values are all there.
    size_t n = 1;
    for (auto d : a.dims) n *= static_cast<size_t>(d);
    if (n != a.values.size()) __builtin_trap();
  } catch (const sprout::data::DataError&) {
  }
  return 0;
}
