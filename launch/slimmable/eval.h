// Evaluation of width-adaptive models: test accuracy, average MACs per example and
// throughput of one sub-network (a width ratio, or any active widths — the truncations of
// adaptive width reuse it) or of dynamic routing by the DS-Net gate.
//
// Every function is collective over `comm`: each rank evaluates its contiguous shard of
// the test split, counts are summed, and throughput is the whole split over the slowest
// rank's forward time (so it is the job's rate, measured, not derived).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "growth/slimmable/slimmable.h"
#include "runtime/comm/communicator.h"
#include "runtime/json.h"

namespace sprout::launch {

struct EvalData {
  const data::Dataset* test = nullptr;
  data::Normalization norm;         // input normalisation (data::DataSplits)
  int64_t batch = 1000;             // examples per forward
  torch::Device device = torch::kCPU;  // where the model lives
};

struct WidthEvaluation {
  std::string width;   // "0.25", "dynamic", or a label for custom widths
  double accuracy = 0, loss = 0;
  double macs = 0;     // mean MACs per example (growth/models/macs.h)
  double examples_per_s = 0;
  int64_t examples = 0;
  std::vector<double> route_share;  // dynamic: fraction of examples routed to each ratio

  runtime::JsonObject json() const;
  // "width 0.25   accuracy 0.8512   MACs/example 54.9k (20.4%)   61234 examples/s"
  std::string line(double reference_macs) const;
};

// One forward over a batch: logits (N, classes); adds the batch's MACs to *macs and, for
// dynamic routing, the per-ratio example counts to *routes.
using EvalForward = std::function<torch::Tensor(const torch::Tensor& x, double* macs, std::vector<double>* routes)>;

// The evaluation loop shared by everything below. Collective.
WidthEvaluation evaluate_forward(runtime::Communicator& comm, const EvalData& data, const std::string& label,
                                 size_t routes, const EvalForward& forward);

// The sub-network at ratio index i.
WidthEvaluation evaluate_ratio(runtime::Communicator& comm, const EvalData& data, growth::SlimmableNet& net, size_t i);
// Dynamic routing by the gate (deterministic; confidence 0: argmax, else
// SlimmableNet::route's cumulative rule); MACs include the gate's head and, where the probe is
// not reused (SlimmableNet::routed_macs), the probe.
WidthEvaluation evaluate_dynamic(runtime::Communicator& comm, const EvalData& data, growth::SlimmableNet& net,
                                 double confidence = 0);
// Not a method: the upper bound of the gate's targets. Each example goes to the smallest
// width if the smallest classifies it correctly, else to the largest (sandwich gate
// sparsification applied with the test labels); MACs as if routing were free.
WidthEvaluation evaluate_oracle(runtime::Communicator& comm, const EvalData& data, growth::SlimmableNet& net);
// Any model at explicit active widths (absent sites: full), its own statistics.
WidthEvaluation evaluate_active(runtime::Communicator& comm, const EvalData& data, growth::Model& model,
                                const std::map<std::string, int64_t>& active, const std::string& label);

// An adaptive-width model (growth/adaptive/adaptive.h) truncated to `active` units per site: the
// importances of the kept units are applied unchanged (not renormalised).
WidthEvaluation evaluate_adaptive(runtime::Communicator& comm, const EvalData& data, growth::Model& model,
                                  const std::map<std::string, int64_t>& active, double rate_floor,
                                  const std::string& label);

// Every ratio, then the dynamic row when the gate was trained (gate.trained_steps > 0)
// and the oracle row.
std::vector<WidthEvaluation> evaluate_widths(runtime::Communicator& comm, const EvalData& data,
                                             growth::SlimmableNet& net);

}  // namespace sprout::launch
