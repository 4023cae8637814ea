#include "launch/plan/calibration.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/regular_file.h"

namespace sprout::launch {

namespace {

// A calibration is a few hundred rows of figures; the cap only keeps a wrong file from being read whole.
constexpr int64_t kCalibrationMaxBytes = int64_t{16} << 20;

runtime::JsonObject link_json(const runtime::LinkCost& l, const std::string& source) {
  runtime::JsonObject o;
  o.add("alpha_s", l.alpha_s).add("beta_s_per_byte", l.beta_s_per_byte).add("source", source);
  return o;
}

runtime::LinkCost link_of(const runtime::JsonObject& o) { return {o.number("alpha_s"), o.number("beta_s_per_byte")}; }

bool positive(const runtime::LinkCost& l) {
  return std::isfinite(l.alpha_s) && std::isfinite(l.beta_s_per_byte) && l.alpha_s > 0 && l.beta_s_per_byte > 0;
}

}  // namespace

runtime::JsonObject Calibration::to_json() const {
  runtime::JsonObject compute;
  compute.add("arch", arch).add("macs_per_example", macs_per_example).add("seconds_per_example", seconds_per_example)
      .add("batch", batch).add("threads", threads).add("sgd_update_s_per_element", sgd_update_s_per_element)
      .add("adamw_update_s_per_element", adamw_update_s_per_element)
      .add("cpu_seconds_per_example", cpu_seconds_per_example)
      .add("sgd_update_cpu_s_per_element", sgd_update_cpu_s_per_element)
      .add("adamw_update_cpu_s_per_element", adamw_update_cpu_s_per_element).add("cores", cores)
      .add("bucket_copy_cpu_s_per_byte", bucket_copy_cpu_s_per_byte)
      .add("reduction_cpu_s_per_byte", reduction_cpu_s_per_byte).add("bucket_mb", bucket_mb).add("trainer_s_per_batch", trainer_s_per_batch)
      .add("trainer_s_per_example", trainer_s_per_example).add("trainer_cpu_s_per_batch", trainer_cpu_s_per_batch)
      .add("trainer_cpu_s_per_example", trainer_cpu_s_per_example).add("trainer_source", trainer_source);
  runtime::JsonObject links_json;
  links_json.add("node", link_json(links.node, node_link_source))
      .add("between", link_json(links.between, between_link_source));
  std::vector<runtime::JsonObject> rows;
  for (const auto& c : collectives) {
    runtime::JsonObject r;
    r.add("bytes", c.bytes).add("mpi_allreduce_s", c.mpi_allreduce_s).add("ring_allreduce_s", c.ring_allreduce_s)
        .add("reduce_scatter_s", c.reduce_scatter_s).add("allgather_s", c.allgather_s)
        .add("hierarchical_allreduce_s", c.hierarchical_allreduce_s).add("scattered_allreduce_s", c.scattered_allreduce_s);
    rows.push_back(r);
  }
  runtime::JsonObject o;
  runtime::JsonObject nodes_json;
  nodes_json.add("count", nodes).add("ranks_per_node", ranks_per_node).add("split", node_split);
  o.add("host", host).add("ranks", ranks).add("nodes", nodes_json).add("compute", compute).add("links", links_json).add("collectives", rows)
      .add("checkpoint_write_bytes_per_s", checkpoint_bytes_per_s);
  return o;
}

Calibration Calibration::read(const std::string& path, const std::string& option) {
  // A directory, a FIFO (which would block every rank) or a device is refused before it is opened.
  const std::string why = runtime::why_not_regular_file(path);
  SPROUT_CHECK(why.empty(), ConfigError, option, ": cannot read '", path, "': it ", why,
               " (write one with sprout bench calibrate)");
  const std::string text = runtime::read_regular_file(path, kCalibrationMaxBytes, option);
  Calibration c;
  try {
    const auto o = runtime::JsonObject::parse(text);
    c.host = o.text("host");
    c.ranks = static_cast<int>(o.integer("ranks"));
    if (o.has("nodes")) {  // files written before the node split was recorded: one node
      const auto nodes = o.object("nodes");
      c.nodes = static_cast<int>(nodes.integer("count"));
      c.ranks_per_node = static_cast<int>(nodes.integer("ranks_per_node"));
      c.node_split = nodes.text("split");
    } else {
      c.ranks_per_node = c.ranks;
      c.node_split = "not recorded";
    }
    const auto compute = o.object("compute");
    c.arch = compute.text("arch");
    c.macs_per_example = compute.number("macs_per_example");
    c.seconds_per_example = compute.number("seconds_per_example");
    c.batch = compute.integer("batch");
    c.threads = static_cast<int>(compute.integer("threads"));
    c.sgd_update_s_per_element = compute.value().value("sgd_update_s_per_element", 0.0);
    c.adamw_update_s_per_element = compute.value().value("adamw_update_s_per_element", 0.0);
    c.cpu_seconds_per_example = compute.value().value("cpu_seconds_per_example", 0.0);
    c.sgd_update_cpu_s_per_element = compute.value().value("sgd_update_cpu_s_per_element", 0.0);
    c.adamw_update_cpu_s_per_element = compute.value().value("adamw_update_cpu_s_per_element", 0.0);
    c.cores = compute.value().value("cores", 0);
    c.bucket_copy_cpu_s_per_byte = compute.value().value("bucket_copy_cpu_s_per_byte", 0.0);
    c.reduction_cpu_s_per_byte = compute.value().value("reduction_cpu_s_per_byte", 0.0);
    c.bucket_mb = compute.value().value("bucket_mb", 0.0);
    if (compute.has("trainer_cpu_s_per_example")) {  // older files: 0, and the source says so
      c.trainer_s_per_batch = compute.number("trainer_s_per_batch");
      c.trainer_s_per_example = compute.number("trainer_s_per_example");
      c.trainer_cpu_s_per_batch = compute.number("trainer_cpu_s_per_batch");
      c.trainer_cpu_s_per_example = compute.number("trainer_cpu_s_per_example");
      c.trainer_source = compute.text("trainer_source");
    }
    const auto links = o.object("links");
    c.links.node = link_of(links.object("node"));
    c.links.between = link_of(links.object("between"));
    c.node_link_source = links.object("node").text("source");
    c.between_link_source = links.object("between").text("source");
    for (const auto& r : o.value().at("collectives")) {
      CollectiveTiming t;
      t.bytes = r.at("bytes").get<double>();
      t.mpi_allreduce_s = r.at("mpi_allreduce_s").get<double>();
      t.ring_allreduce_s = r.at("ring_allreduce_s").get<double>();
      t.reduce_scatter_s = r.at("reduce_scatter_s").get<double>();
      t.allgather_s = r.at("allgather_s").get<double>();
      t.hierarchical_allreduce_s = r.value("hierarchical_allreduce_s", 0.0);
      t.scattered_allreduce_s = r.value("scattered_allreduce_s", 0.0);
      c.collectives.push_back(t);
    }
    c.checkpoint_bytes_per_s = o.number("checkpoint_write_bytes_per_s");
  } catch (const ConfigError& e) {
    throw ConfigError(concat(option, ": '", path, "': ", e.what()));
  } catch (const std::exception& e) {
    throw ConfigError(concat(option, ": '", path, "' is not a calibration file: ", e.what()));
  }
  SPROUT_CHECK(c.seconds_per_example > 0 && c.macs_per_example > 0 && c.checkpoint_bytes_per_s > 0, ConfigError,
               option, ": '", path, "' has a non-positive compute rate or checkpoint bandwidth");
  for (const double v : {c.cpu_seconds_per_example, c.sgd_update_cpu_s_per_element, c.adamw_update_cpu_s_per_element,
                         c.bucket_copy_cpu_s_per_byte, c.reduction_cpu_s_per_byte}) {
    SPROUT_CHECK(std::isfinite(v) && v >= 0, ConfigError, option, ": '", path,
                 "' has a CPU time that is negative or not finite: ", v);
  }
  SPROUT_CHECK(std::isfinite(c.bucket_mb) && c.bucket_mb >= 0, ConfigError, option, ": '", path,
               "' has compute.bucket_mb negative or not finite: ", c.bucket_mb);
  for (const auto& [key, v] : {std::pair<const char*, double>{"trainer_s_per_batch", c.trainer_s_per_batch},
                               {"trainer_s_per_example", c.trainer_s_per_example},
                               {"trainer_cpu_s_per_batch", c.trainer_cpu_s_per_batch},
                               {"trainer_cpu_s_per_example", c.trainer_cpu_s_per_example}}) {
    SPROUT_CHECK(std::isfinite(v) && v >= 0, ConfigError, option, ": '", path, "' has compute.", key,
                 " negative or not finite: ", v);
  }
  SPROUT_CHECK(c.cores >= 0 && c.cores <= 1 << 20 && c.threads >= 1, ConfigError, option, ": '", path, "' has cores ",
               c.cores, " / threads ", c.threads);
  SPROUT_CHECK(positive(c.links.node) && positive(c.links.between), ConfigError, option, ": '", path,
               "' has a link whose alpha_s or beta_s_per_byte is not a positive finite number");
  SPROUT_CHECK(c.nodes >= 1 && c.ranks_per_node >= 1 && c.nodes <= c.ranks, ConfigError, option, ": '", path,
               "' has nodes.count ", c.nodes, " / nodes.ranks_per_node ", c.ranks_per_node, " for ", c.ranks,
               " ranks");
  return c;
}

}  // namespace sprout::launch
