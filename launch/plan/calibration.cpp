#include "launch/plan/calibration.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace sprout::launch {

namespace {

runtime::JsonObject link_json(const runtime::LinkCost& l, const std::string& source) {
  runtime::JsonObject o;
  o.add("alpha_s", l.alpha_s).add("beta_s_per_byte", l.beta_s_per_byte).add("source", source);
  return o;
}

runtime::LinkCost link_of(const runtime::JsonObject& o) { return {o.number("alpha_s"), o.number("beta_s_per_byte")}; }

}  // namespace

runtime::JsonObject Calibration::to_json() const {
  runtime::JsonObject compute;
  compute.add("arch", arch).add("macs_per_example", macs_per_example).add("seconds_per_example", seconds_per_example)
      .add("batch", batch).add("threads", threads);
  runtime::JsonObject links_json;
  links_json.add("node", link_json(links.node, node_link_source))
      .add("between", link_json(links.between, between_link_source));
  std::vector<runtime::JsonObject> rows;
  for (const auto& c : collectives) {
    runtime::JsonObject r;
    r.add("bytes", c.bytes).add("mpi_allreduce_s", c.mpi_allreduce_s).add("ring_allreduce_s", c.ring_allreduce_s)
        .add("reduce_scatter_s", c.reduce_scatter_s).add("allgather_s", c.allgather_s);
    rows.push_back(r);
  }
  runtime::JsonObject o;
  o.add("host", host).add("ranks", ranks).add("compute", compute).add("links", links_json).add("collectives", rows)
      .add("checkpoint_write_bytes_per_s", checkpoint_bytes_per_s);
  return o;
}

Calibration Calibration::read(const std::string& path) {
  std::ifstream in(path);
  SPROUT_CHECK(in.good(), ConfigError, "--plan.calibration: cannot read '", path, "' (write one with sprout bench calibrate)");
  std::stringstream text;
  text << in.rdbuf();
  Calibration c;
  try {
    const auto o = runtime::JsonObject::parse(text.str());
    c.host = o.text("host");
    c.ranks = static_cast<int>(o.integer("ranks"));
    const auto compute = o.object("compute");
    c.arch = compute.text("arch");
    c.macs_per_example = compute.number("macs_per_example");
    c.seconds_per_example = compute.number("seconds_per_example");
    c.batch = compute.integer("batch");
    c.threads = static_cast<int>(compute.integer("threads"));
    const auto links = o.object("links");
    c.links.node = link_of(links.object("node"));
    c.links.between = link_of(links.object("between"));
    c.node_link_source = links.object("node").text("source");
    c.between_link_source = links.object("between").text("source");
    for (const auto& r : o.value().at("collectives")) {
      c.collectives.push_back({r.at("bytes").get<double>(), r.at("mpi_allreduce_s").get<double>(),
                               r.at("ring_allreduce_s").get<double>(), r.at("reduce_scatter_s").get<double>(),
                               r.at("allgather_s").get<double>()});
    }
    c.checkpoint_bytes_per_s = o.number("checkpoint_write_bytes_per_s");
  } catch (const ConfigError& e) {
    throw ConfigError(concat("--plan.calibration: '", path, "': ", e.what()));
  } catch (const std::exception& e) {
    throw ConfigError(concat("--plan.calibration: '", path, "' is not a calibration file: ", e.what()));
  }
  SPROUT_CHECK(c.seconds_per_example > 0 && c.macs_per_example > 0 && c.checkpoint_bytes_per_s > 0, ConfigError,
               "--plan.calibration: '", path, "' has a non-positive compute rate or checkpoint bandwidth");
  return c;
}

}  // namespace sprout::launch
