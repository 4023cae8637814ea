#include "growth/models/memory_estimate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include "growth/models/family.h"
#include "growth/models/model.h"
#include "runtime/comm/ring_allreduce.h"
#include "runtime/engine/bucket_layout.h"
#include "runtime/engine/bucket_reducer.h"
#include "runtime/error.h"

namespace sprout::growth {

namespace {

std::string gigabytes(double bytes) {
  std::ostringstream os;
  os << std::setprecision(3) << bytes / 1e9 << " GB";
  return os.str();
}

std::string width_options(const ArchSpec& arch) { return model_family(arch.kind).width_options(arch); }

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
  for (const auto& l : model_family(arch.kind).layers(arch, {})) {
    e.parameters += l.weights + l.norm;
    e.buffers += l.norm_buffers;
    e.activations_per_example += l.activations;
  }
  return e;
}

int optimizer_slots(const std::string& optimizer, double momentum) {
  if (optimizer == "adamw") return 2;
  return momentum != 0 ? 1 : 0;
}

void check_size_limits(const ArchSpec& arch) {
  const ModelFamily& family = model_family(arch.kind);
  for (const auto& [site, width] : family.group_widths(arch)) {
    SPROUT_CHECK(width <= kMaxSiteWidth, ConfigError, family.width_options(arch), ": width ", width, " of site ",
                 site, " is above the limit of ", kMaxSiteWidth, " units per layer");
  }
  for (const auto& l : family.layers(arch, {})) {
    const double weight = l.weights - l.out;  // the weight alone, without the bias
    SPROUT_CHECK(weight <= static_cast<double>(kMaxTensorElements), ConfigError, family.width_options(arch),
                 ": the weight of ", l.module, " would hold ", static_cast<int64_t>(weight),
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
  const bool grows = reached.params != start.params;
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
  return model_family(arch.kind).site_widths(arch);
}

std::vector<std::pair<std::string, int64_t>> group_widths(const ArchSpec& arch) {
  return model_family(arch.kind).group_widths(arch);
}

ArchSpec with_site_widths(ArchSpec arch, const std::map<std::string, int64_t>& widths) {
  return model_family(arch.kind).with_site_widths(std::move(arch), widths);
}

TrainingTensors training_tensors(const ArchSpec& arch, double build_limit) {
  const MemoryEstimate floor = estimate_training_memory(arch, 1, 0);
  TrainingTensors t;
  t.activations_per_example = floor.activations_per_example;
  if (floor.parameters <= build_limit) {
    const auto model = model_family(arch.kind).build(arch, 0);
    for (const auto& p : model->params().parameters()) t.parameters.push_back(p.numel());
    for (const auto& b : model->params().buffers()) t.buffer_bytes += static_cast<double>(b.numel() * b.element_size());
    return t;
  }
  for (const auto& l : model_family(arch.kind).layers(arch, {})) {
    if (l.weights > 0) t.parameters.push_back(static_cast<int64_t>(l.weights));
    if (l.norm > 0) t.parameters.push_back(static_cast<int64_t>(l.norm));
    t.buffer_bytes += 4.0 * l.norm_buffers;
  }
  return t;
}

RankMemory rank_memory(const TrainingTensors& tensors, const RankMemoryOptions& o) {
  SPROUT_CHECK(o.shard == "none" || o.shard == "state" || o.shard == "gradients", ConfigError,
               "optim.shard: '", o.shard, "' is not none, state or gradients");
  SPROUT_CHECK(o.world >= 1 && o.rank >= 0 && o.rank < o.world, ConfigError, "rank ", o.rank, " of ", o.world);
  constexpr double kFloat = 4;
  int64_t total = 0;
  for (auto n : tensors.parameters) total += n;
  RankMemory m;
  m.parameters = kFloat * static_cast<double>(total);
  m.buffers = tensors.buffer_bytes;
  m.activations = (o.bf16 ? 2.0 : kFloat) * tensors.activations_per_example * static_cast<double>(o.batch);
  double grads = static_cast<double>(total);  // autograd's .grad
  double owned = static_cast<double>(total);  // elements with optimizer state here
  if (o.world > 1) {
    // The engine's bucket cut, from meta tensors of the same sizes (no memory).
    std::vector<torch::Tensor> shapes;
    for (auto n : tensors.parameters) shapes.push_back(torch::empty({n}, torch::TensorOptions().device(torch::kMeta)));
    const double mib = 1024.0 * 1024.0;
    const auto layout = runtime::BucketLayout::build(shapes, static_cast<size_t>(o.bucket_mb * mib),
                                                     static_cast<size_t>(std::min(o.first_bucket_mb, o.bucket_mb) * mib));
    const int per_node = o.ranks_per_node > 0 ? std::min(o.ranks_per_node, o.world) : o.world;
    const int nodes = (o.world + per_node - 1) / per_node;
    runtime::NodePlace place;  // as runtime::NodeGroups cuts consecutive blocks of per_node ranks
    place.node_count = o.ranks_per_node > 0 ? nodes : 1;
    place.max_node_size = per_node;
    place.node_rank = o.rank % per_node;
    place.node_size = std::min(per_node, o.world - o.rank / per_node * per_node);
    double chunks = 0;
    for (const auto& b : layout.buckets()) {
      const auto [lo, hi] = runtime::BucketReducer::kept_range(b.numel, o.rank, o.world);
      chunks += static_cast<double>(hi - lo);
      if (o.shard == "gradients") continue;
      const auto path = runtime::bucket_path(o.allreduce, o.world, place.node_count, per_node,
                                             static_cast<double>(b.numel) * kFloat, o.links);
      grads += static_cast<double>(b.numel + runtime::bucket_scratch_numel(path, b.numel, o.world, place));
    }
    if (o.shard == "gradients") {
      grads += chunks;
      owned = chunks;
    }
  }
  if (o.shard == "state") {
    owned = static_cast<double>(total * (o.rank + 1) / o.world - total * o.rank / o.world);
  }
  m.gradients = kFloat * grads;
  m.optimizer_state = kFloat * o.optimizer_slots * owned;
  return m;
}

}  // namespace sprout::growth
