#include "growth/models/memory_estimate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include "runtime/error.h"

namespace sprout::growth {

namespace {

// Per-layer shapes in forward order, the way cnn.cpp and mlp.cpp build them.
struct LayerShape {
  std::string name;
  double weights = 0;      // elements of the weight tensor
  int64_t out = 0;         // units / channels
  double outputs = 0;      // output elements per example (before pooling)
  double pooled = 0;       // pooled map elements per example (conv blocks)
  bool hidden = false;     // a width site (batch-norm applies)
};

std::vector<LayerShape> layer_shapes(const ArchSpec& a) {
  std::vector<LayerShape> out;
  double in = static_cast<double>(a.in_channels);
  int64_t h = a.in_height, w = a.in_width;
  if (a.kind == "cnn") {
    for (size_t i = 0; i < a.conv.size(); ++i) {
      const double c = static_cast<double>(a.conv[i]);
      out.push_back({"conv" + std::to_string(i + 1), in * c * 9, a.conv[i], c * h * w, c * (h / 2) * (w / 2), true});
      in = c;
      h /= 2;
      w /= 2;
    }
  }
  in *= static_cast<double>(h * w);
  for (size_t i = 0; i <= a.widths.size(); ++i) {
    const bool hidden = i < a.widths.size();
    const int64_t units = hidden ? a.widths[i] : a.classes;
    const double u = static_cast<double>(units);
    out.push_back({"fc" + std::to_string(i + 1), in * u, units, u, 0, hidden});
    in = u;
  }
  return out;
}

std::string gigabytes(double bytes) {
  std::ostringstream os;
  os << std::setprecision(3) << bytes / 1e9 << " GB";
  return os.str();
}

// The options that set `arch`'s widths, with their values: "--model.widths 3000000,64".
std::string width_options(const ArchSpec& arch) {
  std::string s;
  if (arch.kind == "cnn") s = concat("--model.conv ", join_ints(arch.conv), " ");
  return s + concat("--model.widths ", join_ints(arch.widths));
}

// The first number of a "Key: N kB" line of /proc/meminfo, in bytes (NaN if absent).
double meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    double kb = 0;
    if (fields >> kb) return kb * 1024;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// A byte count from a cgroup file ("max" or an absurd v1 "no limit" value: NaN).
double cgroup_bytes(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::numeric_limits<double>::quiet_NaN();
  try {
    const double v = std::stod(text);
    return v >= 1e18 ? std::numeric_limits<double>::quiet_NaN() : v;
  } catch (const std::exception&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace

double MemoryEstimate::bytes() const {
  const double state = parameters * (3.0 + optimizer_slots) + buffers;  // values, gradients, reduction buffer
  return 4.0 * (state + activations_per_example * static_cast<double>(batch));
}

MemoryEstimate estimate_training_memory(const ArchSpec& arch, int64_t batch, int optimizer_slots) {
  MemoryEstimate e;
  e.batch = batch;
  e.optimizer_slots = optimizer_slots;
  e.activations_per_example = static_cast<double>(arch.in_channels * arch.in_height * arch.in_width);
  for (const auto& l : layer_shapes(arch)) {
    e.parameters += l.weights + static_cast<double>(l.out);  // weight and bias
    if (l.hidden && arch.batch_norm) {
      e.parameters += 2.0 * static_cast<double>(l.out);
      e.buffers += 2.0 * static_cast<double>(l.out) + 1;
    }
    e.activations_per_example += 3 * l.outputs + l.pooled;
  }
  return e;
}

int optimizer_slots(const std::string& optimizer, double momentum) {
  if (optimizer == "adamw") return 2;
  return momentum != 0 ? 1 : 0;
}

void check_size_limits(const ArchSpec& arch) {
  for (auto w : arch.widths) {
    SPROUT_CHECK(w <= kMaxSiteWidth, ConfigError, "model.widths: width ", w, " in '", join_ints(arch.widths),
                 "' is above the limit of ", kMaxSiteWidth, " units per layer");
  }
  for (auto c : arch.conv) {
    SPROUT_CHECK(c <= kMaxSiteWidth, ConfigError, "model.conv: ", c, " channels in '", join_ints(arch.conv),
                 "' is above the limit of ", kMaxSiteWidth, " per layer");
  }
  for (const auto& l : layer_shapes(arch)) {
    SPROUT_CHECK(l.weights <= static_cast<double>(kMaxTensorElements), ConfigError, width_options(arch),
                 ": the weight of ", l.name, " would hold ", static_cast<int64_t>(l.weights),
                 " elements, above the limit of 2^31 - 1 per tensor");
  }
}

AvailableMemory available_memory_per_rank(int ranks_on_node) {
  AvailableMemory a{meminfo_bytes("MemAvailable"), "MemAvailable"};
  if (std::isnan(a.bytes)) a = {std::numeric_limits<double>::infinity(), "unknown"};
  // cgroup v2, then v1: what the limit leaves beyond the group's current use.
  const std::pair<const char*, const char*> files[] = {
      {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
      {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}};
  for (const auto& [limit_file, usage_file] : files) {
    const double limit = cgroup_bytes(limit_file);
    if (std::isnan(limit)) continue;
    const double used = cgroup_bytes(usage_file);
    const double left = std::max(0.0, limit - (std::isnan(used) ? 0.0 : used));
    if (left < a.bytes) a = {left, "the cgroup memory limit"};
    break;
  }
  const int ranks = std::max(1, ranks_on_node);
  a.bytes /= ranks;
  if (ranks > 1) a.source += concat(" / ", ranks, " ranks on this node");
  return a;
}

void check_training_memory(const ArchSpec& start, const ArchSpec& reached, int64_t batch, int optimizer_slots,
                           const AvailableMemory& available) {
  check_size_limits(start);
  const bool grows = reached.widths != start.widths || reached.conv != start.conv;
  if (grows) {
    try {
      check_size_limits(reached);
    } catch (const ConfigError& e) {
      throw ConfigError(concat(width_options(start), " grows (growth schedule) beyond a limit: ", e.what()));
    }
  }
  const MemoryEstimate e = estimate_training_memory(reached, batch, optimizer_slots);
  if (e.bytes() <= available.bytes) return;
  throw ConfigError(concat(width_options(start), grows ? concat(" (grown to ", width_options(reached), ")") : "",
                           ": training needs at least ", gigabytes(e.bytes()), " per rank (",
                           static_cast<int64_t>(e.parameters), " parameters, batch ", batch, "), but only ",
                           gigabytes(available.bytes), " is available (", available.source, ")"));
}

std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& arch) {
  std::vector<std::pair<std::string, int64_t>> out;
  if (arch.kind == "cnn") {
    for (size_t i = 0; i < arch.conv.size(); ++i) out.emplace_back("conv" + std::to_string(i + 1), arch.conv[i]);
  }
  for (size_t i = 0; i < arch.widths.size(); ++i) out.emplace_back("fc" + std::to_string(i + 1), arch.widths[i]);
  return out;
}

ArchSpec with_site_widths(ArchSpec arch, const std::map<std::string, int64_t>& widths) {
  auto set = [&](const std::string& name, int64_t& width) {
    auto it = widths.find(name);
    if (it != widths.end()) width = it->second;
  };
  if (arch.kind == "cnn") {
    for (size_t i = 0; i < arch.conv.size(); ++i) set("conv" + std::to_string(i + 1), arch.conv[i]);
  }
  for (size_t i = 0; i < arch.widths.size(); ++i) set("fc" + std::to_string(i + 1), arch.widths[i]);
  return arch;
}

}  // namespace sprout::growth
