#include "launch/plan/plan_report.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "growth/models/family.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

constexpr double kMB = 1e6, kGB = 1e9;

std::string gb(double bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.3g GB", bytes / kGB);
  return s;
}

// What to change, named, when the peak does not fit even at the most ranks planned.
[[noreturn]] void refuse(const PlanConfig& config, const Plan& plan, const ScalingRow& best) {
  const auto& arch = plan.widths[best.peak_width].width.arch;
  const auto m = growth::rank_memory(growth::training_tensors(arch),
                                     memory_options(config.train, best.step.ranks, config.plan.ranks_per_node));
  std::string change = concat("lower train.batch (activations ", gb(m.activations), ")");
  if (config.train.optim.shard != "gradients") {
    change += concat(", set optim.shard=gradients (gradients ", gb(m.gradients), ", optimizer state ",
                     gb(m.optimizer_state), ")");
  }
  change += concat(" or narrow ", growth::model_family(arch.kind).width_options(arch));
  throw ConfigError(concat("plan: ", arch.describe(), plan.widths.size() > 1 ? " (the schedule's peak)" : "",
                           " needs ", gb(best.peak_bytes), " per rank even on ", best.step.ranks,
                           " ranks, above the ", gb(plan.budget_bytes), " available (", plan.budget_source,
                           "): ", change));
}

const char* kPlotScript = R"PY(
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open(sys.argv[1])))
n = [int(r["ranks"]) for r in rows]
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
for alg in ("ring", "recursive_doubling", "hierarchical", "scattered"):
    a.plot(n, [float(r["samples_per_s_" + alg]) for r in rows], marker="o", label=alg.replace("_", " "))
    b.plot(n, [float(r["efficiency_" + alg]) for r in rows], marker="o", label=alg.replace("_", " "))
a.set_xscale("log", base=2); a.set_yscale("log"); a.set_xlabel("ranks N"); a.set_ylabel("predicted samples/s")
b.set_xscale("log", base=2); b.set_xlabel("ranks N"); b.set_ylabel("scaling efficiency"); b.set_ylim(0, 1.05)
for ax in (a, b): ax.grid(True, alpha=0.3); ax.legend()
fig.suptitle(sys.argv[3]); fig.tight_layout(); fig.savefig(sys.argv[2], dpi=110)
)PY";

}  // namespace

Plan make_plan(const PlanConfig& config) {
  Plan plan;
  plan.calibration = Calibration::read(config.plan.calibration);
  auto& between = plan.calibration.links.between;
  if (config.plan.between_alpha_us > 0) between.alpha_s = config.plan.between_alpha_us * 1e-6;
  if (config.plan.between_gbps > 0) between.beta_s_per_byte = 8.0 / (config.plan.between_gbps * 1e9);
  if (config.plan.between_alpha_us > 0 || config.plan.between_gbps > 0) {
    plan.calibration.between_link_source = concat("input: ", config.plan.between_alpha_us > 0 ? "--plan.between_alpha_us " : "",
                                                  config.plan.between_gbps > 0 ? "--plan.between_gbps " : "",
                                                  "(else ", plan.calibration.between_link_source, ")");
  }
  if (config.plan.cores_per_node > 0) {
    SPROUT_CHECK(plan.calibration.cpu_seconds_per_example > 0, ConfigError, "--plan.cores_per_node: ",
                 config.plan.cores_per_node, " needs a calibration with CPU times ('", config.plan.calibration,
                 "' has only wall-clock ones: calibrate again)");
    plan.calibration.cores = config.plan.cores_per_node;
  }
  plan.examples_per_step = static_cast<double>(config.train.train.batch * config.train.train.accumulate);
  const int per_node = config.plan.ranks_per_node;
  if (config.plan.memory_gb > 0) {
    plan.budget_bytes = config.plan.memory_gb * kGB;
    plan.budget_source = "plan.memory_gb";
  } else {
    const auto available = growth::available_memory_per_rank(per_node);
    plan.budget_bytes = available.bytes;
    plan.budget_source = concat("this machine: ", available.source);
  }
  std::vector<growth::TrainingTensors> tensors;
  for (const auto& w : schedule_widths(config.train)) {
    growth::check_size_limits(w.arch);
    tensors.push_back(growth::training_tensors(w.arch));
    for (auto n : tensors.back().parameters) {
      plan.largest_tensor_bytes = std::max(plan.largest_tensor_bytes, 4.0 * static_cast<double>(n));
    }
    plan.widths.push_back({w, growth::rank_memory(tensors.back(), memory_options(config.train, 1, per_node))});
    if (plan.widths.back().memory.total() > plan.widths[plan.peak_width].memory.total()) {
      plan.peak_width = plan.widths.size() - 1;
    }
  }
  const size_t widest = plan.widths.size() - 1;  // the schedule only grows
  bool any_fits = false;
  std::vector<int> ranks;
  for (int n = 1; n < config.plan.max_ranks; n *= 2) ranks.push_back(n);
  ranks.push_back(config.plan.max_ranks);
  for (int n : ranks) {
    ScalingRow row;
    row.step = predict_step(config.train, plan.widths[widest].width.arch, tensors[widest], plan.calibration, n, per_node);
    for (size_t w = 0; w < plan.widths.size(); ++w) {
      const double bytes = growth::rank_memory(tensors[w], memory_options(config.train, n, per_node)).total();
      if (bytes > row.peak_bytes) row.peak_bytes = bytes, row.peak_width = w;
    }
    row.fits = row.peak_bytes <= plan.budget_bytes;
    any_fits = any_fits || row.fits;
    plan.rows.push_back(row);
  }
  if (!any_fits) refuse(config, plan, plan.rows.back());
  return plan;
}

void print_plan(const Plan& plan, const PlanConfig& config) {
  const auto& t = config.train;
  const auto& cal = plan.calibration;
  std::printf("# sprout plan: optim=%s shard=%s batch=%lld x accumulate %lld precision=%s bucket_mb=%g "
              "checkpoint.every=%lld; %d ranks per node; memory per rank %s (%s)\n",
              t.optim.name.c_str(), t.optim.shard.c_str(), static_cast<long long>(t.train.batch),
              static_cast<long long>(t.train.accumulate), t.runtime.precision.c_str(), t.runtime.bucket_mb,
              static_cast<long long>(t.checkpoint.every), config.plan.ranks_per_node, gb(plan.budget_bytes).c_str(),
              plan.budget_source.c_str());
  char cpu[160] = " (wall-clock: no CPU times in this calibration)";
  if (cal.cpu_seconds_per_example > 0 && cal.cores > 0) {
    std::snprintf(cpu, sizeof cpu, " (CPU %.4g ms on a node of %d cores%s: compute is CPU time over each rank's share)",
                  cal.cpu_seconds_per_example * 1e3, cal.cores,
                  config.plan.cores_per_node > 0 ? ", plan.cores_per_node" : "");
  }
  std::printf("# calibration %s: %s on %d ranks in %d node%s, %.4g ms per example%s; node link %.2f us + %.3g GB/s (%s); "
              "between nodes %.2f us + %.3g GB/s (%s); checkpoint write %.0f MB/s\n",
              config.plan.calibration.c_str(), cal.host.c_str(), cal.ranks, cal.nodes, cal.nodes == 1 ? "" : "s",
              cal.seconds_per_example * 1e3, cpu,
              cal.links.node.alpha_s * 1e6, 1e-9 / cal.links.node.beta_s_per_byte, cal.node_link_source.c_str(),
              cal.links.between.alpha_s * 1e6, 1e-9 / cal.links.between.beta_s_per_byte,
              cal.between_link_source.c_str(), cal.checkpoint_bytes_per_s / kMB);
  std::printf("# the trainer's own work per step (batches, loss read-back, bookkeeping): %.4g ms CPU per batch + %.4g ms "
              "per example (%s)\n",
              cal.trainer_cpu_s_per_batch * 1e3, cal.trainer_cpu_s_per_example * 1e3, cal.trainer_source.c_str());
  if (cal.ranks > 1 && (cal.bucket_copy_cpu_s_per_byte > 0 || cal.reduction_cpu_s_per_byte > 0)) {
    std::printf("# the engine's own work per gradient byte (CPU): %.3g ns copying into buckets + %.3g ns reducing on the "
                "ring of %d ranks (%s); from N = 2 on, on each rank's cores beside compute\n",
                cal.bucket_copy_cpu_s_per_byte * 1e9, cal.reduction_cpu_s_per_byte * 1e9, cal.ranks,
                cal.bucket_mb > 0 ? concat("buckets of ", cal.bucket_mb, " MiB").c_str() : "one bucket of --max_bytes");
  } else {
    std::printf("# the engine's own work: not in this calibration (one rank, or written before it was measured): 0\n");
  }
  std::printf("\n# per-rank memory on 1 rank (MB), every width of the growth schedule\n");
  std::printf("%10s  %-40s %10s %10s %10s %10s %10s %10s\n", "from_step", "model", "params", "buffers", "grads",
              "optimizer", "activation", "total");
  for (size_t i = 0; i < plan.widths.size(); ++i) {
    const auto& w = plan.widths[i];
    const auto& m = w.memory;
    std::printf("%10lld  %-40s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f%s\n", static_cast<long long>(w.width.from_step),
                w.width.arch.describe().c_str(), m.parameters / kMB, m.buffers / kMB, m.gradients / kMB,
                m.optimizer_state / kMB, m.activations / kMB, m.total() / kMB, i == plan.peak_width ? "  <- peak" : "");
  }
  std::printf("# these count the tensors; the resident peak can hold one block more, up to the largest tensor (%.2f MB "
              "here), where the heap's placement of freed blocks leaves a gap (launch/plan/README.md)\n",
              plan.largest_tensor_bytes / kMB);
  const auto& base = plan.rows.front().step;
  std::printf("\n# predicted step at the widest model, per N (ms); compute = forward + backward; trainer = the step's own work beside them; ring … scattered = "
              "each algorithm's reduction in the step: the engine's CPU work on the rank's cores plus communication left "
              "exposed after overlap\n");
  std::printf("%6s %5s %11s %4s %10s %8s %8s %10s %10s %10s %10s %10s %8s %-18s %9s %11s %6s\n", "ranks", "nodes",
              "peak_MB/rank", "fits", "compute", "trainer", "update", "ring", "rec_doubl", "hierarch", "scattered", "allgather", "ckpt",
              "best", "step", "samples/s", "eff");
  for (const auto& r : plan.rows) {
    const auto& s = r.step;
    PlanAlgorithm best = PlanAlgorithm::Ring;
    for (auto a : kPlanAlgorithms) {
      if (s.step_s(a) < s.step_s(best)) best = a;
    }
    const double rate = s.ranks * static_cast<double>(t.train.batch * t.train.accumulate) / s.step_s(best);
    const double rate1 = static_cast<double>(t.train.batch * t.train.accumulate) / base.step_s(PlanAlgorithm::Ring);
    std::printf("%6d %5d %11.2f %4s %10.3f %8.3f %8.3f %10.3f %10.3f %10.3f %10.3f %10.3f %8.3f %-18s %9.3f %11.1f %6.3f\n",
                s.ranks, s.nodes, r.peak_bytes / kMB, r.fits ? "yes" : "NO", s.compute_s * 1e3, s.trainer_s * 1e3,
                s.update_s * 1e3,
                (s.engine_s[0] + s.exposed_s[0]) * 1e3, (s.engine_s[1] + s.exposed_s[1]) * 1e3,
                (s.engine_s[2] + s.exposed_s[2]) * 1e3, (s.engine_s[3] + s.exposed_s[3]) * 1e3,
                s.allgather_s * 1e3, s.checkpoint_s * 1e3,
                to_string(best), s.step_s(best) * 1e3, rate, rate / (s.ranks * rate1));
  }
  std::printf("\n# runtime.allreduce=auto per bucket size (alpha-beta, calibrated links): the cheapest of the flat ring, "
              "hierarchical and scattered\n");
  for (const auto& r : plan.rows) {
    if (r.step.nodes < 2) continue;
    const int per_node = std::min(config.plan.ranks_per_node, r.step.ranks);
    std::printf("  N=%-5d %s\n", r.step.ranks,
                runtime::describe_auto_segments(runtime::auto_segments(r.step.nodes, per_node, cal.links)).c_str());
  }
}

void write_plan_files(const Plan& plan, const std::string& prefix) {
  const std::string csv = prefix + ".csv", png = prefix + ".png";
  {
    std::ofstream out(csv);
    out << "ranks,nodes,peak_bytes,fits,compute_s,trainer_s,update_s,compute_cpu_s,trainer_cpu_s,update_cpu_s,"
           "bucket_copy_cpu_s,reduction_cpu_s,allgather_s,checkpoint_s";
    for (const char* a : {"ring", "recursive_doubling", "hierarchical", "scattered"}) {
      out << ",engine_s_" << a << ",exposed_s_" << a << ",step_s_" << a << ",samples_per_s_" << a << ",efficiency_" << a;
    }
    out << "\n";
    const auto& base = plan.rows.front().step;
    for (const auto& r : plan.rows) {
      const auto& s = r.step;
      out << s.ranks << "," << s.nodes << "," << r.peak_bytes << "," << (r.fits ? 1 : 0) << "," << s.compute_s << ","
          << s.trainer_s << "," << s.update_s << "," << s.compute_cpu_s << "," << s.trainer_cpu_s << "," << s.update_cpu_s << "," << s.bucket_copy_cpu_s << "," << s.reduction_cpu_s << "," << s.allgather_s << ","
          << s.checkpoint_s;
      for (auto a : kPlanAlgorithms) {
        const double rate = s.ranks * plan.examples_per_step / s.step_s(a), rate1 = plan.examples_per_step / base.step_s(a);
        out << "," << s.engine_s[static_cast<int>(a)] << "," << s.exposed_s[static_cast<int>(a)] << "," << s.step_s(a) << "," << rate << "," << rate / (s.ranks * rate1);
      }
      out << "\n";
    }
    SPROUT_CHECK(out.good(), ConfigError, "--plan.out: cannot write '", csv, "'");
  }
  // Debian's python3 (matplotlib from apt) before whatever python3 PATH finds first.
  const char* python3 = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  const std::string command = concat(python3, " - '", csv, "' '", png, "' 'sprout plan' 2>/dev/null");
  FILE* python = ::popen(command.c_str(), "w");
  const bool drawn = python != nullptr && std::fputs(kPlotScript, python) >= 0 && ::pclose(python) == 0;
  std::printf("# wrote %s%s\n", csv.c_str(), drawn ? concat(" and ", png).c_str() : "");
  if (!drawn) std::fprintf(stderr, "sprout: plan: %s not drawn (python3 with matplotlib not found); the CSV is written\n", png.c_str());
}

}  // namespace sprout::launch
